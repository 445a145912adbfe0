// createBalancer builds the algorithm a pool names.
import { describe, expect, it } from 'vitest';
import {
  createBalancer,
  LeastRequestBalancer,
  RandomBalancer,
  RoundRobinBalancer,
} from '../../src/balancer/index.js';
import type { BalanceAlgorithm } from '../../src/config/types.js';

describe('createBalancer', () => {
  it.each([
    ['round-robin', RoundRobinBalancer],
    ['random', RandomBalancer],
    ['least-request', LeastRequestBalancer],
  ] as const)('%s', (algorithm, kind) => {
    expect(createBalancer(algorithm, { random: Math.random })).toBeInstanceOf(kind);
  });

  it('rejects an unknown name', () => {
    expect(() => createBalancer('hash' as BalanceAlgorithm, { random: Math.random })).toThrow(/hash/);
  });

  it('gives each call its own state', () => {
    expect(createBalancer('round-robin', { random: Math.random })).not.toBe(
      createBalancer('round-robin', { random: Math.random }),
    );
  });
});

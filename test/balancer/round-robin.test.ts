// Exact pick sequences of smooth weighted round robin, checked against nginx's.
import { describe, expect, it } from 'vitest';
import { RoundRobinBalancer } from '../../src/balancer/round-robin.js';
import { always, backendsWithWeights, type FakeBackend } from './fake-backend.js';

function sequence(weights: number[], picks: number, eligible: (b: FakeBackend) => boolean = always): string {
  const backends = backendsWithWeights(...weights);
  const balancer = new RoundRobinBalancer<FakeBackend>();
  let out = '';
  for (let i = 0; i < picks; i++) out += balancer.pick(backends, eligible)?.id ?? '-';
  return out;
}

describe('RoundRobinBalancer', () => {
  it.each([
    { weights: [5, 1, 1], picks: 14, expected: 'aabacaaaabacaa' }, // nginx: a a b a c a a, repeating
    { weights: [1, 1, 1], picks: 6, expected: 'abcabc' },
    { weights: [2, 1], picks: 6, expected: 'abaaba' },
    { weights: [1, 2], picks: 6, expected: 'babbab' },
    { weights: [0.5, 1], picks: 6, expected: 'babbab' }, // fractional weights from slow start
    { weights: [3, 0, 1], picks: 8, expected: 'aacaaaca' }, // b has weight 0
  ])('weights $weights give $expected', ({ weights, picks, expected }) => {
    expect(sequence(weights, picks)).toBe(expected);
  });

  it('leaves an ineligible backend untouched, as nginx skips a tried peer', () => {
    const backends = backendsWithWeights(5, 1, 1);
    const [a] = backends as [FakeBackend];
    const balancer = new RoundRobinBalancer<FakeBackend>();
    let out = '';
    out += balancer.pick(backends, always)!.id; // a: currents -2 1 1
    out += balancer.pick(backends, (x) => x !== a)!.id; // b or c only: b wins the tie, currents -2 -1 2
    out += balancer.pick(backends, always)!.id; // 3 0 3 -> a (first of the tie)
    expect(out).toBe('aba');
  });

  it('starts a returning backend afresh, as nginx does for a reconfigured peer', () => {
    const backends = backendsWithWeights(1, 5);
    const b = backends[1]!;
    const balancer = new RoundRobinBalancer<FakeBackend>();
    expect(balancer.pick(backends, always)).toBe(b); // currents a 1, b -1
    expect(balancer.pick([b], always)).toBe(b); // a absent
    let out = '';
    for (let i = 0; i < 3; i++) out += balancer.pick(backends, always)!.id;
    // a from 0: (1 4) b, (2 3) b, (3 2) a. Had a kept its old 1: (2 4) b, (3 3) a.
    expect(out).toBe('bba');
  });

  it('keeps state per backend object, not per position in the list', () => {
    const backends = backendsWithWeights(1, 1, 1);
    const balancer = new RoundRobinBalancer<FakeBackend>();
    let out = balancer.pick(backends, always)!.id;
    const reversed = [...backends].reverse();
    for (let i = 0; i < 5; i++) out += balancer.pick(reversed, always)!.id;
    // a's -2 follows it to the end of the list: c b a (2 2 -1) -> c; (0 3 0) -> b; (1 1 1) -> c ...
    expect(out).toBe('acbcba');
  });
});

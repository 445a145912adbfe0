// Exact picks of weighted random for scripted and seeded random sources.
import { describe, expect, it } from 'vitest';
import { RandomBalancer } from '../../src/balancer/random.js';
import { seededRandom } from '../helpers/manual-clock.js';
import { always, backendsWithWeights, scriptedRandom, type FakeBackend } from './fake-backend.js';

function sequence(weights: number[], random: () => number, picks: number, eligible = always as (b: FakeBackend) => boolean): string {
  const backends = backendsWithWeights(...weights);
  const balancer = new RandomBalancer<FakeBackend>({ random });
  let out = '';
  for (let i = 0; i < picks; i++) out += balancer.pick(backends, eligible)?.id ?? '-';
  return out;
}

describe('RandomBalancer', () => {
  it.each([
    { weights: [1, 1], draws: [0, 0.49, 0.5, 0.99], expected: 'aabb' },
    { weights: [3, 1], draws: [0.74, 0.75, 0.2, 0.999], expected: 'abab' },
    { weights: [1, 0, 1], draws: [0.49, 0.5], expected: 'ac' }, // weight 0 takes no share
    { weights: [1, 1], draws: [1 - Number.EPSILON], expected: 'b' }, // rounding never falls off the end
  ])('weights $weights with draws $draws give $expected', ({ weights, draws, expected }) => {
    expect(sequence(weights, scriptedRandom(draws), draws.length)).toBe(expected);
  });

  it('shares the draw among eligible backends only', () => {
    const draws = [0.3, 0.7];
    expect(sequence([1, 1, 1], scriptedRandom(draws), 2, (b) => b.id !== 'a')).toBe('bc');
  });

  it('draws once per pick and not at all when nothing is eligible', () => {
    let draws = 0;
    const random = (): number => {
      draws++;
      return 0.5;
    };
    const backends = backendsWithWeights(1, 1);
    const balancer = new RandomBalancer<FakeBackend>({ random });
    balancer.pick(backends, always);
    balancer.pick(backends, () => false);
    balancer.pick([], always);
    expect(draws).toBe(1);
  });

  it('gives the same sequence for the same seed', () => {
    const a = sequence([3, 2, 1], seededRandom(42), 200);
    expect(sequence([3, 2, 1], seededRandom(42), 200)).toBe(a);
    expect(sequence([3, 2, 1], seededRandom(43), 200)).not.toBe(a);
  });

  it('matches the seeded draws picked by hand', () => {
    const draws = seededRandom(42);
    const expected = Array.from({ length: 12 }, () => (draws() < 0.75 ? 'a' : 'b')).join('');
    expect(sequence([3, 1], seededRandom(42), 12)).toBe(expected);
  });
});

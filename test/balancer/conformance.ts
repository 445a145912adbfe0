// The behaviour every balancing algorithm must share, run against each one by conformance.test.ts.
import { describe, expect, it } from 'vitest';
import type { Balancer, BalancerDeps } from '../../src/balancer/balancer.js';
import { seededRandom } from '../helpers/manual-clock.js';
import { always, backendsWithWeights, FakeBackend } from './fake-backend.js';

export type MakeBalancer = (deps: BalancerDeps) => Balancer<FakeBackend>;

/**
 * Pick `picks` times under a closed-loop load of `concurrency` requests: each pick adds one request
 * to the chosen backend, and once the load is full one in-flight request completes, chosen with
 * probability in-flight x weight: weight means capacity, so a backend of weight 3 serves three times
 * as fast. Load-aware algorithms are measured this way at several loads, from idle to busy.
 */
function simulate(
  balancer: Balancer<FakeBackend>,
  backends: FakeBackend[],
  picks: number,
  random: () => number,
  concurrency = 100,
): Map<string, number> {
  const counts = new Map<string, number>();
  let load = 0;
  for (let n = 0; n < picks; n++) {
    const chosen = balancer.pick(backends, always);
    if (chosen === undefined) throw new Error('no pick');
    counts.set(chosen.id, (counts.get(chosen.id) ?? 0) + 1);
    chosen.inflight++;
    load++;
    if (load < concurrency) continue;
    let capacity = 0;
    for (const b of backends) capacity += b.inflight * Math.max(b.effectiveWeight(), 0);
    let k = random() * capacity;
    for (const b of backends) {
      k -= b.inflight * Math.max(b.effectiveWeight(), 0);
      if (k < 0 && b.inflight > 0) {
        b.inflight--;
        load--;
        break;
      }
    }
  }
  return counts;
}

export function runConformance(name: string, make: MakeBalancer): void {
  describe(`${name}: balancer conformance`, () => {
    const fresh = (seed = 1): Balancer<FakeBackend> => make({ random: seededRandom(seed) });

    it('returns undefined for an empty backend list', () => {
      expect(fresh().pick([], always)).toBeUndefined();
    });

    it('returns undefined when no backend is eligible', () => {
      const backends = backendsWithWeights(1, 2, 3);
      expect(fresh().pick(backends, () => false)).toBeUndefined();
    });

    it('returns undefined when every eligible backend has weight 0 or less', () => {
      const backends = backendsWithWeights(0, -1, Number.NaN);
      expect(fresh().pick(backends, always)).toBeUndefined();
    });

    it('returns the only eligible backend', () => {
      const backends = backendsWithWeights(1, 1, 1);
      const b = fresh();
      for (let i = 0; i < 20; i++) expect(b.pick(backends, (x) => x.id === 'b')?.id).toBe('b');
    });

    it('never picks a backend that is not eligible or has weight 0', () => {
      const backends = backendsWithWeights(1, 0, 2, 3, 1);
      const b = fresh();
      const seen = new Set<string>();
      for (let i = 0; i < 2_000; i++) {
        const chosen = b.pick(backends, (x) => x.id !== 'd');
        seen.add(chosen!.id);
      }
      expect([...seen].sort()).toEqual(['a', 'c', 'e']);
    });

    it.each([1, 4, 100])('honours 3:1 weights over 20k picks at a load of %i in flight', (concurrency) => {
      const backends = backendsWithWeights(3, 1);
      const counts = simulate(fresh(7), backends, 20_000, seededRandom(99), concurrency);
      const share = (counts.get('a') ?? 0) / 20_000;
      expect(share).toBeGreaterThan(0.72);
      expect(share).toBeLessThan(0.78);
    });

    it.each([1, 20])('gives a backend in slow start (weight 0.1 of 1) its small share at a load of %i', (concurrency) => {
      const backends = backendsWithWeights(1, 1, 1, 0.1);
      const counts = simulate(fresh(11), backends, 20_000, seededRandom(12), concurrency);
      const share = (counts.get('d') ?? 0) / 20_000;
      // Ideal 0.1 / 3.1 = 0.032: never starved, never flooded.
      expect(share).toBeGreaterThan(0.02);
      expect(share).toBeLessThan(0.05);
    });

    it('spreads evenly over equal weights', () => {
      const backends = backendsWithWeights(1, 1, 1, 1);
      const counts = simulate(fresh(3), backends, 20_000, seededRandom(5));
      for (const b of backends) {
        const share = (counts.get(b.id) ?? 0) / 20_000;
        expect(share).toBeGreaterThan(0.22);
        expect(share).toBeLessThan(0.28);
      }
    });

    it('honours an eligible predicate that excludes the backend already tried', () => {
      const backends = backendsWithWeights(1, 1);
      const b = fresh();
      for (let i = 0; i < 50; i++) {
        const first = b.pick(backends, always)!;
        const retry = b.pick(backends, (x) => x !== first);
        expect(retry).toBeDefined();
        expect(retry).not.toBe(first);
        expect(b.pick(backends, (x) => x !== first && x !== retry)).toBeUndefined();
      }
    });

    it('stays correct as backends come and go between picks', () => {
      const [a, b, c, d] = backendsWithWeights(1, 1, 1, 1) as [FakeBackend, FakeBackend, FakeBackend, FakeBackend];
      const balancer = fresh(11);
      const counts = (list: FakeBackend[], n: number): Map<string, number> => {
        const seen = new Map<string, number>();
        for (let i = 0; i < n; i++) {
          const chosen = balancer.pick(list, always)!;
          expect(list).toContain(chosen);
          seen.set(chosen.id, (seen.get(chosen.id) ?? 0) + 1);
        }
        return seen;
      };
      counts([a, b, c], 100);
      const afterSwap = counts([b, c, d], 300); // a removed, d added, b and c the same objects
      expect(afterSwap.has('a')).toBe(false);
      expect(afterSwap.get('d') ?? 0).toBeGreaterThan(50);
      const afterReturn = counts([a, b], 200); // a comes back, c and d gone
      expect([...afterReturn.keys()].sort()).toEqual(['a', 'b']);
      expect(afterReturn.get('a') ?? 0).toBeGreaterThan(50);
      // A new backend object with a known id is a different backend: nothing carries over by id.
      const a2 = new FakeBackend('a', 1);
      const afterReplace = counts([a2, b], 100);
      expect(afterReplace.get('a') ?? 0).toBeGreaterThan(20);
    });

    it('honours weights that change between picks (slow start)', () => {
      const backends = backendsWithWeights(1, 1);
      const balancer = fresh(13);
      backends[1]!.weight = 0;
      for (let i = 0; i < 50; i++) expect(balancer.pick(backends, always)?.id).toBe('a');
      backends[1]!.weight = 1;
      const counts = simulate(balancer, backends, 4_000, seededRandom(17));
      expect((counts.get('b') ?? 0) / 4_000).toBeGreaterThan(0.4);
    });
  });
}

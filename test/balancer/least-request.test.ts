// Exact picks of least request: P2C over in-flight with a latency coin on ties (equal weights), weighted round robin over weight / (in-flight + 1) otherwise.
import { describe, expect, it } from 'vitest';
import { LeastRequestBalancer } from '../../src/balancer/least-request.js';
import { seededRandom } from '../helpers/manual-clock.js';
import { always, FakeBackend, scriptedRandom } from './fake-backend.js';

const noRandom = (): number => {
  throw new Error('random() should not be called');
};

function pickWith(backends: FakeBackend[], draws: number[]): string | undefined {
  return new LeastRequestBalancer<FakeBackend>({ random: scriptedRandom(draws) }).pick(backends, always)?.id;
}

describe('LeastRequestBalancer', () => {
  it.each([
    // [weight, inflight, latency] of a and b; with two backends both are always compared.
    { a: [1, 5, 0], b: [1, 1, 0], winner: 'b', why: 'fewer requests in flight' },
    { a: [1, 0, 0], b: [1, 1, 0], winner: 'a', why: 'fewer requests in flight' },
    { a: [1, 0, 900], b: [1, 1, 10], winner: 'a', why: 'fewer requests in flight, whatever the latency' },
    { a: [1, 3, 0], b: [1, 3, 90], winner: 'a', why: 'unknown latency (0) is tried first' },
  ])('$winner wins: $why', ({ a, b, winner }) => {
    const backends = [new FakeBackend('a', a[0], a[1], a[2]), new FakeBackend('b', b[0], b[1], b[2])];
    // Both draw orders: the outcome must not depend on which was drawn first. Two draws only: no coin.
    expect(pickWith(backends, [0, 0])).toBe(winner); // draws a then b
    expect(pickWith(backends, [0.9, 0])).toBe(winner); // draws b then a
  });

  it.each([
    // Equal load, a at 20 ms and b at 80 ms: a wins with chance 80 / (20 + 80) = 0.8, in either draw order.
    // (Before issue 8 the lower score always won: the order of near-equal scores fixed the shares.)
    { draws: [0, 0, 0.79], winner: 'a', why: 'a drawn first, coin below 0.8' },
    { draws: [0, 0, 0.81], winner: 'b', why: 'a drawn first, coin above 0.8' },
    { draws: [0.9, 0, 0.19], winner: 'b', why: 'b drawn first, coin below 0.2' },
    { draws: [0.9, 0, 0.21], winner: 'a', why: 'b drawn first, coin above 0.2' },
  ])('equal load: a weighted coin by speed, $winner wins: $why', ({ draws, winner }) => {
    const backends = [new FakeBackend('a', 1, 3, 20), new FakeBackend('b', 1, 3, 80)];
    expect(pickWith(backends, draws)).toBe(winner);
  });

  it('equal load: an infinite score never wins against a finite one', () => {
    const backends = [new FakeBackend('a', 1, 0, Infinity), new FakeBackend('b', 1, 0, 50)];
    for (const draws of [[0, 0, 0], [0, 0, 0.999], [0.9, 0, 0], [0.9, 0, 0.999]]) {
      expect(pickWith(backends, draws)).toBe('b');
    }
  });

  it.each([
    // Unequal weights: smooth WRR over weight / (inflight + 1); the first pick goes to the larger dynamic weight.
    { a: [4, 2, 0], b: [1, 0, 0], winner: 'a', why: '4/3 > 1/1' },
    { a: [2, 2, 0], b: [1, 0, 0], winner: 'b', why: '2/3 < 1/1' },
    { a: [3, 0, 0], b: [1, 0, 0], winner: 'a', why: 'idle: 3 > 1' },
  ])('unequal weights: $winner wins first: $why', ({ a, b, winner }) => {
    const backends = [new FakeBackend('a', a[0], a[1], a[2]), new FakeBackend('b', b[0], b[1], b[2])];
    expect(new LeastRequestBalancer<FakeBackend>({ random: noRandom }).pick(backends, always)?.id).toBe(winner);
  });

  it('unequal weights at idle follow the weights exactly, as nginx smooth WRR (3:1 -> a a b a)', () => {
    const backends = [new FakeBackend('a', 3), new FakeBackend('b', 1)];
    const balancer = new LeastRequestBalancer<FakeBackend>({ random: noRandom });
    expect(Array.from({ length: 8 }, () => balancer.pick(backends, always)?.id).join('')).toBe('aabaaaba');
  });

  it('keeps the first drawn on a full tie, so idle equal backends spread', () => {
    const backends = [new FakeBackend('a'), new FakeBackend('b')];
    expect(pickWith(backends, [0, 0])).toBe('a');
    expect(pickWith(backends, [0.9, 0])).toBe('b');
  });

  it.each([
    // Three backends: i = floor(r1 * 3), j = floor(r2 * 2) skipping i.
    { draws: [0, 0], pair: 'a,b' },
    { draws: [0, 0.6], pair: 'a,c' },
    { draws: [0.4, 0], pair: 'b,a' },
    { draws: [0.4, 0.6], pair: 'b,c' },
    { draws: [0.9, 0], pair: 'c,a' },
    { draws: [0.9, 0.6], pair: 'c,b' },
    { draws: [1 - Number.EPSILON, 1 - Number.EPSILON], pair: 'c,b' },
  ])('draws $draws compare $pair', ({ draws, pair }) => {
    // Every backend is idle with equal weight, so the first of the pair wins; the least busy one
    // wins when it is in the pair, which tells us the second.
    const [first, second] = pair.split(',') as [string, string];
    const backends = ['a', 'b', 'c'].map((id) => new FakeBackend(id, 1, 1));
    expect(pickWith(backends, draws)).toBe(first);
    backends.find((b) => b.id === second)!.inflight = 0;
    expect(pickWith(backends, draws)).toBe(second);
  });

  it('returns the one eligible backend without drawing', () => {
    const backends = [new FakeBackend('a', 1, 9), new FakeBackend('b', 1, 0), new FakeBackend('c', 0, 0)];
    const balancer = new LeastRequestBalancer<FakeBackend>({ random: noRandom });
    expect(balancer.pick(backends, (b) => b.id !== 'b')?.id).toBe('a');
  });

  it('spreads evenly over idle backends of equal weight', () => {
    const backends = ['a', 'b', 'c', 'd', 'e'].map((id) => new FakeBackend(id));
    const balancer = new LeastRequestBalancer<FakeBackend>({ random: seededRandom(1) });
    const counts = new Map<string, number>();
    for (let i = 0; i < 20_000; i++) {
      const id = balancer.pick(backends, always)!.id;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    for (const b of backends) {
      expect(counts.get(b.id)! / 20_000).toBeGreaterThan(0.18);
      expect(counts.get(b.id)! / 20_000).toBeLessThan(0.22);
    }
  });

  it('never sends to the busiest of several backends', () => {
    const backends = ['a', 'b', 'c', 'd'].map((id, i) => new FakeBackend(id, 1, i === 2 ? 50 : 1));
    const balancer = new LeastRequestBalancer<FakeBackend>({ random: seededRandom(2) });
    for (let i = 0; i < 1_000; i++) expect(balancer.pick(backends, always)?.id).not.toBe('c');
  });
});

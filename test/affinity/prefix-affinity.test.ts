// affinity/prefix-affinity.ts: the longest matched prefix wins among eligible backends, the gate gives way to load,
// what was sent where is remembered (bounded), and forgotten for backends that left.
import { describe, expect, it } from 'vitest';
import { PrefixAffinity } from '../../src/affinity/prefix-affinity.js';
import type { Candidate } from '../../src/balancer/balancer.js';
import type { ServerLoad } from '../../src/signals/types.js';

interface Fake extends Candidate {
  inflight: number;
  weight: number;
  load: ServerLoad | undefined;
}

const fake = (id: string, inflight = 0): Fake => {
  const f: Fake = { id, inflight, weight: 1, load: undefined, effectiveWeight: () => f.weight, latencyScore: () => 0, serverLoad: () => f.load };
  return f;
};

const cfg = { blockChars: 4, maxBlocks: 16, maxBodyBytes: 4096, perBackend: 64, maxImbalanceAbsolute: 2, maxImbalanceRelative: 1.5, onMiss: 'balancer' as const };
const all = (): boolean => true;
const body = (prompt: string): Buffer => Buffer.from(JSON.stringify({ model: 'm', prompt }));

describe('PrefixAffinity', () => {
  it('keyOf: the hashes of a JSON prompt of at least one block, else null', () => {
    const a = new PrefixAffinity(cfg);
    expect(a.keyOf(body('abcdefgh'))).toHaveLength(2);
    expect(a.keyOf(body('abc'))).toBeNull();
    expect(a.keyOf(Buffer.from('not json'))).toBeNull();
    expect(a.keyOf(body('x'.repeat(1000)))).toHaveLength(16);
    // Larger than maxBody: not parsed.
    expect(a.keyOf(body('x'.repeat(5000)))).toBeNull();
  });

  it('miss before anything was recorded; then the backend that was sent the prefix is a hit', () => {
    const a = new PrefixAffinity(cfg);
    const [x, y, z] = [fake('x'), fake('y'), fake('z')];
    const key = a.keyOf(body('system prompt, question 1'))!;
    expect(a.choose([x, y, z], all, key)).toEqual({ backend: undefined, outcome: 'miss', matched: 0 });
    a.record('y', key);
    const other = a.keyOf(body('system prompt, question 2'))!;
    expect(a.choose([x, y, z], all, other)).toMatchObject({ backend: y, outcome: 'hit' });
  });

  it('the longest match wins; equal matches go to the less loaded', () => {
    const a = new PrefixAffinity(cfg);
    const [x, y, z] = [fake('x', 1), fake('y', 0), fake('z', 0)];
    a.record('x', a.keyOf(body('AAAABBBBCCCC'))!);
    a.record('y', a.keyOf(body('AAAABBBBZZZZ'))!);
    expect(a.choose([x, y, z], all, a.keyOf(body('AAAABBBBCCCCDDDD'))!)).toEqual({ backend: x, outcome: 'hit', matched: 3 });
    a.record('z', a.keyOf(body('AAAABBBBCCCC'))!);
    expect(a.choose([x, y, z], all, a.keyOf(body('AAAABBBBCCCCDDDD'))!)).toEqual({ backend: z, outcome: 'hit', matched: 3 });
  });

  it('only eligible backends with weight are considered', () => {
    const a = new PrefixAffinity(cfg);
    const [x, y] = [fake('x'), fake('y')];
    const key = a.keyOf(body('AAAABBBB'))!;
    a.record('x', key);
    expect(a.choose([x, y], (b) => b !== x, key).outcome).toBe('miss');
    x.weight = 0;
    expect(a.choose([x, y], all, key).outcome).toBe('miss');
  });

  it('the gate: the preferred backend too far above the least loaded (both margins) gives way', () => {
    const a = new PrefixAffinity(cfg);
    const [x, y] = [fake('x'), fake('y')];
    const key = a.keyOf(body('AAAABBBB'))!;
    a.record('x', key);
    const table: Array<[number, number, 'hit' | 'gated']> = [
      [2, 0, 'hit'],
      [3, 0, 'gated'],
      [5, 3, 'hit'], // 2 above
      [6, 3, 'gated'],
      [12, 9, 'hit'], // 3 above, but not 1.5 x
    ];
    for (const [ix, iy, outcome] of table) {
      x.inflight = ix;
      y.inflight = iy;
      expect([ix, iy, a.choose([x, y], all, key).outcome]).toEqual([ix, iy, outcome]);
    }
  });

  it('the gate reads what the server says: its queue counts even when infergate sent it little', () => {
    const a = new PrefixAffinity(cfg);
    const [x, y] = [fake('x'), fake('y')];
    const key = a.keyOf(body('AAAABBBB'))!;
    a.record('x', key);
    x.load = { running: 8, queued: 4, at: 0 };
    expect(a.choose([x, y], all, key).outcome).toBe('gated');
    x.load = undefined; // stale: back to in-flight
    expect(a.choose([x, y], all, key).outcome).toBe('hit');
  });

  it('remembers at most perBackend blocks per backend; the head of a prefix outlives its tail', () => {
    const a = new PrefixAffinity({ ...cfg, perBackend: 4 });
    const x = fake('x');
    const long = a.keyOf(body('AAAABBBBCCCCDDDDEEEEFFFF'))!; // 6 blocks
    a.record('x', long);
    expect(a.remembered('x')).toBe(4);
    expect(a.choose([x], all, long)).toMatchObject({ outcome: 'hit', matched: 4 });
  });

  it('retain forgets backends that left', () => {
    const a = new PrefixAffinity(cfg);
    const key = a.keyOf(body('AAAABBBB'))!;
    a.record('x', key);
    a.record('y', key);
    a.retain(new Set(['y']));
    expect([a.remembered('x'), a.remembered('y')]).toEqual([0, 2]);
  });

  describe('onMiss: hash', () => {
    const hashed = { ...cfg, onMiss: 'hash' as const };
    const pool = (): Fake[] => ['p.d.10.0.0.1:8000', 'p.d.10.0.0.2:8000', 'p.d.10.0.0.3:8000', 'p.d.10.0.0.4:8000'].map((id) => fake(id));

    it('two processes that share nothing send a new prefix to the same backend', () => {
      const [one, two] = [new PrefixAffinity(hashed), new PrefixAffinity(hashed)];
      const [b1, b2] = [pool(), pool()];
      for (let i = 0; i < 50; i++) {
        const key = one.keyOf(body(`conversation ${i}: hello there`))!;
        const x = one.choose(b1, all, key);
        const y = two.choose(b2, all, key);
        expect(x.outcome).toBe('miss');
        expect(x.backend!.id).toBe(y.backend!.id);
      }
    });

    it('spreads distinct prefixes over the backends; a backend that leaves moves only its own prefixes', () => {
      const a = new PrefixAffinity(hashed);
      const backends = pool();
      const keys = Array.from({ length: 400 }, (_, i) => a.keyOf(body(`${i} `.padEnd(8, '.')))!);
      const before = keys.map((k) => a.choose(backends, all, k).backend!.id);
      const counts = new Map<string, number>();
      for (const id of before) counts.set(id, (counts.get(id) ?? 0) + 1);
      for (const b of backends) expect(counts.get(b.id)).toBeGreaterThan(60);
      const gone = backends[0]!;
      const after = keys.map((k) => a.choose(backends, (b) => b !== gone, k).backend!.id);
      for (let i = 0; i < keys.length; i++) if (before[i] !== gone.id) expect(after[i]).toBe(before[i]);
    });

    it('the gate applies to the rendezvous backend too', () => {
      const a = new PrefixAffinity(hashed);
      const backends = pool();
      const key = a.keyOf(body('AAAABBBB'))!;
      const target = a.choose(backends, all, key).backend!;
      target.inflight = 10;
      expect(a.choose(backends, all, key)).toEqual({ backend: undefined, outcome: 'gated', matched: 0 });
    });
  });
});

// affinity/gate.ts: the imbalance gate (both margins must be passed) and the load it compares.
import { describe, expect, it } from 'vitest';
import { loadOf, tooImbalanced } from '../../src/affinity/gate.js';
import type { ServerLoad } from '../../src/signals/types.js';

const limits = { absolute: 8, relative: 1.5 };

describe('tooImbalanced (absolute 8, relative 1.5)', () => {
  it.each([
    // preferred, least, gated
    [0, 0, false],
    [8, 0, false], // 8 above: not more than the absolute margin
    [9, 0, true], // 9 above, and above 1.5 x 0
    [9, 1, false], // 8 above
    [10, 1, true],
    [30, 20, false], // 10 above, but not above 1.5 x 20
    [31, 20, true],
    [109, 100, false], // 9 above but only 1.09 x: large servers are not gated on a small difference
    [200, 100, true],
  ])('preferred %i, least %i: gated %s', (preferred, least, gated) => {
    expect(tooImbalanced(preferred, least, limits)).toBe(gated);
  });

  it('absolute 0 and relative 1: any difference gates', () => {
    expect(tooImbalanced(1, 0, { absolute: 0, relative: 1 })).toBe(true);
    expect(tooImbalanced(1, 1, { absolute: 0, relative: 1 })).toBe(false);
  });
});

describe('loadOf', () => {
  const c = (inflight: number, load?: ServerLoad) => ({ id: 'b', inflight, effectiveWeight: () => 1, latencyScore: () => 0, serverLoad: () => load });

  it('infergate in flight when the server said nothing (or nothing fresh)', () => {
    expect(loadOf(c(3))).toBe(3);
    expect(loadOf({ id: 'b', inflight: 2, effectiveWeight: () => 1, latencyScore: () => 0 })).toBe(2);
  });

  it('the larger of in flight and the server running + waiting (other clients count)', () => {
    expect(loadOf(c(3, { running: 10, queued: 4, at: 0 }))).toBe(14);
    expect(loadOf(c(20, { running: 10, queued: 4, at: 0 }))).toBe(20);
    expect(loadOf(c(1, { kvUsage: 0.5, at: 0 }))).toBe(1);
  });
});

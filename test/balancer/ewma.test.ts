// Peak-EWMA latency: peaks at once, decay with explicit times, and the failure penalty.
import { describe, expect, it } from 'vitest';
import { PeakEwma } from '../../src/balancer/ewma.js';

const TAU = 10_000;

describe('PeakEwma', () => {
  it('is 0 before any sample', () => {
    expect(new PeakEwma().value(0)).toBe(0);
    expect(new PeakEwma().value(123_456)).toBe(0);
  });

  it('takes the first sample and any higher one at once', () => {
    const e = new PeakEwma();
    e.observe(40, 1_000);
    expect(e.value(1_000)).toBe(40);
    e.observe(300, 1_001);
    expect(e.value(1_001)).toBe(300);
  });

  it('decays toward 0 while no samples come, with time constant tau', () => {
    const e = new PeakEwma({ tauMs: TAU });
    e.observe(100, 0);
    expect(e.value(TAU)).toBeCloseTo(100 * Math.exp(-1), 9);
    expect(e.value(3 * TAU)).toBeCloseTo(100 * Math.exp(-3), 9);
    expect(e.value(-5)).toBe(100); // a clock that steps back does not raise the score
  });

  it('blends a lower sample in by the time elapsed since the last one (no floor: as Finagle)', () => {
    const e = new PeakEwma({ tauMs: TAU, minSampleWeight: 0 });
    e.observe(100, 0);
    e.observe(10, 0); // no time elapsed: a lower sample changes nothing
    expect(e.value(0)).toBe(100);
    e.observe(10, 1_000);
    const w = Math.exp(-1_000 / TAU);
    expect(e.value(1_000)).toBeCloseTo(100 * w + 10 * (1 - w), 9);
  });

  it('gives a lower sample at least half the weight by default, however little time passed', () => {
    const e = new PeakEwma({ tauMs: TAU });
    e.observe(100, 0);
    e.observe(10, 0);
    expect(e.value(0)).toBe(55);
    e.observe(10, 1_000); // time alone would give the past 0.905: the floor leaves it 0.5
    expect(e.value(1_000)).toBeCloseTo(32.5, 9);
    e.observe(1, 1_000 + 2 * TAU); // after 2 tau the past weighs 0.135 < 0.5: time decides
    const w = Math.exp(-2);
    expect(e.value(1_000 + 2 * TAU)).toBeCloseTo(32.5 * w + 1 * (1 - w), 9);
  });

  it('forgets one slow sample (a cold first request) within a few calm ones, not after tau', () => {
    const e = new PeakEwma({ tauMs: TAU });
    e.observe(1_000, 0);
    for (let i = 1; i <= 10; i++) e.observe(10, i * 10); // 100 ms: time alone would leave ~990
    expect(e.value(100)).toBeGreaterThan(10);
    expect(e.value(100)).toBeLessThan(11); // 10 + 990 / 2^10
  });

  it('treats a sample above the decayed value as a new peak', () => {
    const e = new PeakEwma({ tauMs: TAU });
    e.observe(100, 0);
    e.observe(50, 2 * TAU); // decayed to 13.5 by now, so 50 is a peak
    expect(e.value(2 * TAU)).toBe(50);
  });

  it('settles on a steady lower latency within a few tau', () => {
    const e = new PeakEwma({ tauMs: TAU });
    e.observe(1_000, 0);
    for (let t = 100; t <= 5 * TAU; t += 100) e.observe(50, t);
    expect(e.value(5 * TAU)).toBeGreaterThanOrEqual(50);
    expect(e.value(5 * TAU)).toBeLessThan(60);
  });

  it('ignores NaN and negative samples', () => {
    const e = new PeakEwma();
    e.observe(20, 0);
    e.observe(Number.NaN, 0);
    e.observe(-1, 0);
    expect(e.value(0)).toBe(20);
  });

  describe('observeFailure', () => {
    it('counts a failure on an unknown backend as the floor, 1 s', () => {
      const e = new PeakEwma();
      e.observeFailure(0);
      expect(e.value(0)).toBe(1_000);
    });

    it('makes a fast-failing backend look slower than a healthy one', () => {
      const healthy = new PeakEwma();
      const failing = new PeakEwma();
      for (let t = 0; t < 10_000; t += 10) {
        healthy.observe(200, t);
        failing.observeFailure(t); // it answers 500 in 1 ms; only the penalty is recorded
      }
      expect(failing.value(10_000)).toBeGreaterThan(healthy.value(10_000));
    });

    it('doubles the current score per failure, up to the ceiling', () => {
      const e = new PeakEwma({ failureFloorMs: 1_000, failureCeilingMs: 60_000 });
      e.observe(3_000, 0);
      e.observeFailure(0);
      expect(e.value(0)).toBe(6_000);
      for (let i = 0; i < 10; i++) e.observeFailure(0);
      expect(e.value(0)).toBe(60_000);
    });

    it('never lowers a score already above the ceiling', () => {
      const e = new PeakEwma({ failureCeilingMs: 60_000 });
      e.observe(90_000, 0);
      e.observeFailure(0);
      expect(e.value(0)).toBe(90_000);
    });

    it('recovers once real successes come in', () => {
      const e = new PeakEwma({ tauMs: TAU });
      for (let i = 0; i < 10; i++) e.observeFailure(0);
      for (let t = 100; t <= 10 * TAU; t += 100) e.observe(50, t);
      expect(e.value(10 * TAU)).toBeLessThan(60);
    });
  });
});

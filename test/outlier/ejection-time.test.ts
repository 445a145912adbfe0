// Ejection duration: base x n, capped; un-ejection on the clock; the multiplier decays while the backend serves.
import { describe, expect, it } from 'vitest';
import { ejectionDurationMs, maxMultiplier } from '../../src/outlier/ejection.js';
import { fail, setup } from './harness.js';

const cfg = { consecutive5xx: 1, consecutiveGatewayErrors: 0, baseEjectionTimeMs: 30_000, maxEjectionTimeMs: 100_000, maxEjectionPercent: 100, intervalMs: 10_000 };

it('un-ejects exactly when the ejection time is up, not before', () => {
  const { clock, detector, hosts, unejections } = setup(cfg, 3);
  fail(detector, hosts[0]!, 1);
  clock.advance(29_999);
  expect(detector.isEjected(hosts[0]!)).toBe(true);
  expect(unejections).toEqual([]);
  clock.advance(1);
  expect(detector.isEjected(hosts[0]!)).toBe(false);
  expect(unejections).toHaveLength(1);
  expect(unejections[0]!.host).toBe(hosts[0]);
  expect(unejections[0]!.reason).toBe('ejection of 30000ms ended (1 consecutive server errors)');
  expect(clock.pending()).toBe(0);
});

it('grows with each ejection and is capped by maxEjectionTime', () => {
  const { clock, detector, hosts, ejections } = setup(cfg, 3);
  for (let i = 0; i < 6; i++) {
    fail(detector, hosts[0]!, 1);
    clock.advance(ejections.at(-1)!.durationMs);
  }
  expect(ejections.map((e) => e.durationMs)).toEqual([30_000, 60_000, 90_000, 100_000, 100_000, 100_000]);
  expect(ejections.map((e) => e.ejections)).toEqual([1, 2, 3, 4, 5, 6]);
  // The multiplier stops at the cap so decay from it is bounded.
  expect(ejections.map((e) => e.multiplier)).toEqual([1, 2, 3, 4, 4, 4]);
});

describe('decay of the multiplier (detector started)', () => {
  it('drops by one per full interval in service after the return', () => {
    const { clock, detector, hosts, ejections } = setup(cfg, 3);
    detector.start();
    const h = hosts[0]!;
    fail(detector, h, 1); // n=1, 30 s
    clock.advance(30_000);
    fail(detector, h, 1); // n=2, 60 s
    clock.advance(60_000); // back at t=90 s
    expect(detector.view(h).multiplier).toBe(2);
    clock.advance(10_000); // sweep at 100 s: only 10 s in service -> still counts as a full interval
    expect(detector.view(h).multiplier).toBe(1);
    clock.advance(5_000);
    expect(detector.view(h).multiplier).toBe(1);
    clock.advance(5_000); // sweep at 110 s
    expect(detector.view(h).multiplier).toBe(0);
    fail(detector, h, 1);
    expect(ejections.at(-1)).toMatchObject({ durationMs: 30_000, multiplier: 1, ejections: 3 });
  });

  it('does not decay while ejected or while the backend is not serving', () => {
    const { clock, detector, hosts } = setup({ ...cfg, baseEjectionTimeMs: 50_000, maxEjectionTimeMs: 300_000 }, 3);
    detector.start();
    const h = hosts[0]!;
    fail(detector, h, 1); // 50 s ejection spans 5 sweeps
    clock.advance(50_000);
    expect(detector.view(h).multiplier).toBe(1);
    h.ready = false; // back from ejection but its readiness probe has not passed yet
    clock.advance(30_000);
    expect(detector.view(h).multiplier).toBe(1);
    h.ready = true;
    clock.advance(10_000);
    expect(detector.view(h).multiplier).toBe(0);
  });

  it('a backend ejected again right after returning gets the longer time', () => {
    const { clock, detector, hosts, ejections } = setup(cfg, 3);
    detector.start();
    fail(detector, hosts[0]!, 1);
    clock.advance(30_000); // back at 30 s and failing at once: no full interval in service, no decay
    fail(detector, hosts[0]!, 1);
    expect(ejections.map((e) => e.durationMs)).toEqual([30_000, 60_000]);
  });
});

it.each([
  [30_000, 300_000, 1, 30_000],
  [30_000, 300_000, 10, 300_000],
  [30_000, 300_000, 11, 300_000],
  [30_000, 10_000, 3, 30_000], // a cap below the base is raised to the base
])('ejectionDurationMs(%i, %i, %i) = %i', (base, max, n, ms) => {
  expect(ejectionDurationMs(base, max, n)).toBe(ms);
});

it('maxMultiplier is the smallest n reaching the cap', () => {
  expect(maxMultiplier(30_000, 300_000)).toBe(10);
  expect(maxMultiplier(30_000, 100_000)).toBe(4);
  expect(maxMultiplier(30_000, 10_000)).toBe(1);
});

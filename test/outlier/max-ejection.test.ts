// The pool's ejection cap: at most maxEjectionPercent ejected (one always may be), never the last serving backend.
import { expect, it } from 'vitest';
import { capRefusal } from '../../src/outlier/ejection.js';
import { fail, setup } from './harness.js';

const cfg = { consecutive5xx: 5, consecutiveGatewayErrors: 0, maxEjectionPercent: 50 };

it('4 backends at 50%: two ejected, the third trip is skipped and reported once per streak', () => {
  const { detector, hosts, ejections, skips } = setup(cfg, 4);
  const [a, b, c] = hosts;
  fail(detector, a!, 5);
  fail(detector, b!, 5);
  fail(detector, c!, 5);
  expect(ejections.map((e) => e.host.id)).toEqual(['h0', 'h1']);
  expect(detector.isEjected(c!)).toBe(false);
  expect(skips).toEqual([{ host: 'h2', detector: 'consecutive-5xx', reason: '5 consecutive server errors; not ejected: maxEjectionPercent 50% reached (2 of 4 backends ejected)' }]);
  fail(detector, c!, 10);
  expect(skips).toHaveLength(1);
  // A success ends the streak; the next trip is a new refusal.
  detector.report(c!, 'success');
  fail(detector, c!, 5);
  expect(skips).toHaveLength(2);
});

it('a skipped backend that keeps failing is ejected as soon as there is room', () => {
  const { clock, detector, hosts, ejections } = setup(cfg, 4);
  const [a, b, c] = hosts;
  fail(detector, a!, 5);
  clock.advance(10_000);
  fail(detector, b!, 5); // ends 10 s after a's
  fail(detector, c!, 5);
  clock.advance(20_000); // a is back
  expect(detector.isEjected(a!)).toBe(false);
  fail(detector, c!, 1);
  expect(ejections.map((e) => e.host.id)).toEqual(['h0', 'h1', 'h2']);
});

it('the default 10% still ejects one backend of a small pool, and only one', () => {
  const { detector, hosts, ejections, skips } = setup({ maxEjectionPercent: 10 }, 4);
  fail(detector, hosts[0]!, 5);
  fail(detector, hosts[1]!, 5);
  expect(ejections.map((e) => e.host.id)).toEqual(['h0']);
  expect(skips.map((s) => s.host)).toEqual(['h1']);
});

it('maxEjectionPercent 0 ejects nothing (detect and report only)', () => {
  const { detector, hosts, ejections, skips } = setup({ maxEjectionPercent: 0 }, 4);
  fail(detector, hosts[0]!, 5);
  expect(ejections).toEqual([]);
  expect(skips[0]!.reason).toMatch(/maxEjectionPercent is 0/);
});

it('never ejects the last serving backend, even at 100%', () => {
  const { detector, hosts, ejections, skips } = setup({ maxEjectionPercent: 100 }, 3);
  const [a, b, c] = hosts;
  c!.ready = false; // still loading: does not count as serving
  fail(detector, a!, 5);
  fail(detector, b!, 5);
  expect(ejections.map((e) => e.host.id)).toEqual(['h0']);
  expect(skips).toEqual([{ host: 'h1', detector: 'consecutive-5xx', reason: '5 consecutive server errors; not ejected: it is the last serving backend of its pool' }]);
});

it('a backend that is not serving may be ejected (it takes nothing from the serving set)', () => {
  const { detector, hosts, ejections } = setup({ maxEjectionPercent: 100 }, 2);
  const [a, b] = hosts;
  b!.ready = false;
  fail(detector, b!, 5);
  expect(ejections.map((e) => e.host.id)).toEqual(['h1']);
  fail(detector, a!, 5);
  expect(detector.isEjected(a!)).toBe(false);
});

it('a single-backend pool never loses its backend', () => {
  const { detector, hosts, ejections, skips } = setup({ maxEjectionPercent: 100 }, 1);
  fail(detector, hosts[0]!, 50);
  expect(ejections).toEqual([]);
  expect(skips).toHaveLength(1);
});

it.each([
  [0, 4, 50, null],
  [1, 4, 50, null],
  [2, 4, 50, 'maxEjectionPercent 50% reached (2 of 4 backends ejected)'],
  [0, 4, 10, null],
  [1, 20, 10, null],
  [2, 20, 10, 'maxEjectionPercent 10% reached (2 of 20 backends ejected)'],
  [0, 4, 0, 'maxEjectionPercent is 0'],
])('capRefusal(%i ejected of %i, %i%%)', (ejected, total, pct, refusal) => {
  expect(capRefusal(ejected, total, pct)).toBe(refusal);
});

// The failure-rate detector: waits for its interval and for minRequests, judges only the sliding window.
import { expect, it } from 'vitest';
import { fail, setup } from './harness.js';

const cfg = {
  consecutive5xx: 0,
  consecutiveGatewayErrors: 0,
  failureRate: { threshold: 0.5, minRequests: 10, windowMs: 20_000 },
  intervalMs: 10_000,
  maxEjectionPercent: 100,
};

function mixed(d: ReturnType<typeof setup>['detector'], h: ReturnType<typeof setup>['hosts'][number], ok: number, bad: number): void {
  for (let i = 0; i < ok; i++) d.report(h, 'success');
  fail(d, h, bad);
}

it('ejects at the next sweep, not on the response', () => {
  const { clock, detector, hosts, ejections } = setup(cfg, 3);
  detector.start();
  mixed(detector, hosts[0]!, 5, 5);
  expect(ejections).toEqual([]);
  clock.advance(9_999);
  expect(ejections).toEqual([]);
  clock.advance(1);
  expect(ejections).toHaveLength(1);
  expect(ejections[0]).toMatchObject({ detector: 'failure-rate', reason: 'error rate 50% (5 of 10 requests in the last 20000ms) >= 50%', durationMs: 30_000 });
});

it('does nothing below minRequests, even at 100% errors', () => {
  const { clock, detector, hosts, ejections } = setup(cfg, 3);
  detector.start();
  clock.advance(5_000);
  fail(detector, hosts[0]!, 9);
  clock.advance(5_000); // sweep at 10 s
  expect(ejections).toEqual([]);
  fail(detector, hosts[0]!, 1);
  clock.advance(10_000); // sweep at 20 s; the window still holds the errors of 5 s
  expect(ejections).toHaveLength(1);
});

it('does nothing below the threshold', () => {
  const { clock, detector, hosts, ejections } = setup(cfg, 3);
  detector.start();
  mixed(detector, hosts[0]!, 11, 9);
  clock.advance(10_000);
  expect(ejections).toEqual([]);
  expect(detector.view(hosts[0]!)).toMatchObject({ recentRequests: 20, recentErrors: 9 });
});

it('forgets errors older than the window', () => {
  const { clock, detector, hosts, ejections } = setup(cfg, 3);
  detector.start();
  fail(detector, hosts[0]!, 5); // t=0, below minRequests
  clock.advance(25_000); // out of the 20 s window
  mixed(detector, hosts[0]!, 5, 0);
  clock.advance(5_000);
  expect(ejections).toEqual([]);
  expect(detector.view(hosts[0]!)).toMatchObject({ recentRequests: 5, recentErrors: 0 });
});

it('not started: no sweep, no failure-rate ejection', () => {
  const { clock, detector, hosts, ejections } = setup(cfg, 3);
  fail(detector, hosts[0]!, 20);
  clock.advance(60_000);
  expect(ejections).toEqual([]);
  expect(clock.pending()).toBe(0);
});

it('a skipped failure-rate trip is reported at each sweep it still trips', () => {
  const { clock, detector, hosts, ejections, skips } = setup({ ...cfg, failureRate: { ...cfg.failureRate, windowMs: 60_000 }, maxEjectionPercent: 0 }, 3);
  detector.start();
  fail(detector, hosts[0]!, 10);
  clock.advance(20_000);
  expect(ejections).toEqual([]);
  expect(skips.map((s) => s.detector)).toEqual(['failure-rate', 'failure-rate']);
});

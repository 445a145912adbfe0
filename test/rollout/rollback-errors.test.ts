// Error-driven rollback: an absolute error-rate breach rolls back at the first conclusive check; the relative ratio counts up to failureThreshold.
import { expect, it } from 'vitest';
import { failing, harness, healthy, type Outcome } from './harness.js';

it('rolls a 50%-failing canary back within one interval once it has minRequests', () => {
  const h = harness();
  h.ctl.canaryReady(true);
  h.send(1_000, failing(0.5)); // ~100 canary requests >= minRequests 50
  h.clock.advance(h.config.intervalMs);

  const v = h.ctl.view();
  expect(v.state).toBe('rolled-back');
  expect(h.ctl.weights()).toEqual({ canary: 0, stable: 100 });
  expect(v.reason).toMatch(/^canary error rate \d+\.\d% > 5\.0%/);
  expect(h.changes.at(-1)).toMatchObject({ from: 'progressing', to: 'rolled-back', weight: 0, stableWeight: 100, previousWeight: 10 });
  expect(h.changes.at(-1)?.check?.failures).toContain('error-rate');
  expect(v.lastCheck?.canary.errorRate).toBeGreaterThan(0.35);
  expect(v.lastCheck?.stable.errorRate).toBe(0);
  expect(v.history.at(-1)).toMatchObject({ from: 'progressing', to: 'rolled-back', weight: 0, step: 0 });
  expect(h.clock.pending()).toBe(0);
  // Later traffic is ignored and no more checks run.
  h.intervals(2, 500, failing(0.5));
  expect(h.checks).toHaveLength(1);
});

it('rolls back a canary group of two backends where one is fine and one fails (the group is judged as a whole)', () => {
  // Requests alternate between the canary's two backends: backend A always answers, backend B always 502s.
  const twoBackends: Outcome = (i) => (i % 2 === 0 ? [true, 20] : [false, 3]);
  const h = harness();
  h.ctl.canaryReady(true);
  h.send(1_000, twoBackends);
  h.clock.advance(h.config.intervalMs);
  expect(h.ctl.view().state).toBe('rolled-back');
  expect(h.ctl.weights().canary).toBe(0);
  expect(h.ctl.view().lastCheck?.canary.errorRate).toBeCloseTo(0.5, 1);
  // Fast failures are not sampled as latency: the canary's p99 is its healthy backend's.
  expect(h.ctl.view().lastCheck?.canary.latencyMs).toBe(20);
});

it('fails the relative error ratio when the canary errs well more than stable, rolling back after failureThreshold checks', () => {
  // Canary 3% (below maxErrorRate 5%), stable 0.5% (floored to 1%): ratio ~3 > 2.
  const h = harness({ minRequests: 200 });
  h.ctl.canaryReady(true);
  h.send(4_000, failing(0.03), failing(0.005));
  h.clock.advance(h.config.intervalMs);
  expect(h.checks.at(-1)).toMatchObject({ verdict: 'fail', failures: ['error-ratio'] });
  expect(h.checks.at(-1)?.errorRatio).toBeGreaterThan(2);
  expect(h.ctl.view()).toMatchObject({ state: 'progressing', weight: 10, failedChecks: 1 });
  expect(h.ctl.view().reason).toMatch(/^error ratio/);

  h.send(4_000, failing(0.03), failing(0.005));
  h.clock.advance(h.config.intervalMs);
  expect(h.ctl.view().state).toBe('rolled-back');
  expect(h.ctl.view().reason).toMatch(/^2 failed checks \(threshold 2\): error ratio/);
});

it('passes the ratio when stable errs as much as the canary', () => {
  const h = harness({ minRequests: 200 });
  h.ctl.canaryReady(true);
  h.send(4_000, failing(0.03), failing(0.03));
  h.clock.advance(h.config.intervalMs);
  expect(h.checks.at(-1)?.verdict).toBe('pass');
  expect(h.ctl.weights().canary).toBe(25);
});

it('does not compute a ratio check when it is turned off', () => {
  const h = harness({ minRequests: 200, maxErrorRatio: null });
  h.ctl.canaryReady(true);
  h.send(4_000, failing(0.03), healthy());
  h.clock.advance(h.config.intervalMs);
  expect(h.checks.at(-1)).toMatchObject({ verdict: 'pass', errorRatio: null });
});

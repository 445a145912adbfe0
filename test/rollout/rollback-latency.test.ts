// A canary three times slower than stable is rolled back by the latency-quantile ratio after failureThreshold failed checks.
import { expect, it } from 'vitest';
import { harness, healthy } from './harness.js';

it('rolls back a 3x slower canary after failureThreshold (2) failed checks, holding the weight in between', () => {
  const h = harness();
  h.ctl.canaryReady(true);
  h.send(2_000, healthy(60), healthy(20));
  h.clock.advance(h.config.intervalMs);

  const first = h.checks[0];
  expect(first).toMatchObject({ verdict: 'fail', failures: ['latency-ratio'] });
  expect(first?.latencyRatio).toBeGreaterThan(2.5);
  expect(first?.latencyRatio).toBeLessThan(3.5);
  expect(h.ctl.view()).toMatchObject({ state: 'progressing', weight: 10, failedChecks: 1 });
  expect(h.changes).toHaveLength(1); // a failed check is not a transition

  h.send(2_000, healthy(60), healthy(20));
  h.clock.advance(h.config.intervalMs);
  const v = h.ctl.view();
  expect(v.state).toBe('rolled-back');
  expect(h.ctl.weights()).toEqual({ canary: 0, stable: 100 });
  // Slower in the bulk (Mann-Whitney at the median) and in the tail; ~200 canary samples support p94 or p95, not p99.
  expect(v.reason).toMatch(/^2 failed checks \(threshold 2\): p50 latency ratio \d\.\d\dx > 1\.25x \(.*Mann-Whitney p < 0\.0001\); p9\d latency ratio \d\.\d\dx > 1\.25x \(.*tail share p < 0\.0001; p99 needs 1000 samples per side\)$/);
});

it('rolls back on the first slow check with failureThreshold 1', () => {
  const h = harness({ failureThreshold: 1 });
  h.ctl.canaryReady(true);
  h.send(2_000, healthy(60), healthy(20));
  h.clock.advance(h.config.intervalMs);
  expect(h.ctl.view().state).toBe('rolled-back');
});

it('counts failed checks across steps (a flaky canary does not reset its count by passing once)', () => {
  const h = harness({ failureThreshold: 2 });
  h.ctl.canaryReady(true);
  h.intervals(1, 2_000, healthy(60), healthy(20)); // fail 1
  h.intervals(1, 2_000, healthy(20), healthy(20)); // pass -> 25%
  expect(h.ctl.view()).toMatchObject({ state: 'progressing', weight: 25, failedChecks: 1 });
  h.intervals(1, 2_000, healthy(60), healthy(20)); // fail 2 -> rolled back
  expect(h.ctl.view().state).toBe('rolled-back');
});

it('compares the configured quantile (p50 here) and ignores a slow tail below it', () => {
  // 5% of canary requests are very slow: p99 would fail, p50 does not.
  const h = harness({ latencyQuantile: 0.5 });
  h.ctl.canaryReady(true);
  h.send(4_000, (i) => [true, i % 20 === 0 ? 500 : 20], () => [true, 20]);
  h.clock.advance(h.config.intervalMs);
  expect(h.checks[0]).toMatchObject({ verdict: 'pass', quantile: 0.5, latencyRatio: 1 });
});

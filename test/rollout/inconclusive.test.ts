// Fewer than minRequests canary requests make a check inconclusive: no step, no failure; the window keeps growing until it is enough.
import { expect, it } from 'vitest';
import { failing, harness, healthy } from './harness.js';

it('waits while the canary has fewer than minRequests requests', () => {
  const h = harness({ minRequests: 50 });
  h.ctl.canaryReady(true);
  h.send(200, failing(0.5)); // ~20 canary requests
  h.clock.advance(h.config.intervalMs);
  expect(h.checks[0]).toMatchObject({ verdict: 'inconclusive', failures: [] });
  expect(h.checks[0]?.reason).toMatch(/^\d+ canary requests, 50 needed$/);
  expect(h.ctl.view()).toMatchObject({ state: 'progressing', weight: 10, failedChecks: 0 });
  expect(h.changes).toHaveLength(1);
  expect(h.clock.pending()).toBe(1); // the next check is armed
});

it('keeps counting across inconclusive checks until minRequests is reached', () => {
  const h = harness({ minRequests: 50 });
  h.ctl.canaryReady(true);
  h.intervals(1, 300, healthy()); // ~30
  expect(h.checks[0]?.verdict).toBe('inconclusive');
  h.intervals(1, 300, healthy()); // ~60 in total
  expect(h.checks[1]?.verdict).toBe('pass');
  expect(h.checks[1]?.windowMs).toBe(60_000);
  expect(h.checks[1]!.canary.requests).toBeGreaterThanOrEqual(50);
  expect(h.ctl.weights().canary).toBe(25);
});

it('with no traffic at all stays progressing at its step', () => {
  const h = harness();
  h.ctl.canaryReady(true);
  h.clock.advance(h.config.intervalMs * 5);
  expect(h.checks.map((c) => c.verdict)).toEqual(Array(5).fill('inconclusive'));
  expect(h.ctl.view()).toMatchObject({ state: 'progressing', weight: 10, step: 0 });
});

it('is inconclusive while stable has too few requests as a baseline for the ratios', () => {
  const h = harness({ minRequests: 50 });
  h.ctl.setWeight(95);
  h.ctl.canaryReady(true);
  h.ctl.resume();
  h.send(600, healthy()); // ~570 canary, ~30 stable
  h.clock.advance(h.config.intervalMs);
  expect(h.checks[0]?.verdict).toBe('inconclusive');
  expect(h.checks[0]?.reason).toMatch(/stable requests, 50 needed as a baseline$/);
});

it('still rolls back on the absolute error rate without a stable baseline', () => {
  const h = harness({ minRequests: 50 });
  h.ctl.setWeight(95);
  h.ctl.canaryReady(true);
  h.ctl.resume();
  h.send(600, failing(0.5));
  h.clock.advance(h.config.intervalMs);
  expect(h.ctl.view().state).toBe('rolled-back');
});

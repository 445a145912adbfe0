// A rollout begins only when the canary has a READY backend, and with `start: manual` only after an operator start.
import { expect, it } from 'vitest';
import { harness, healthy } from './harness.js';

it('stays pending until the canary group has a READY backend, then starts at the first step', () => {
  const h = harness();
  h.intervals(3, 1_000, healthy());
  expect(h.ctl.view()).toMatchObject({ state: 'pending', weight: 0, step: -1, canaryReady: false, reason: 'waiting for a READY canary backend' });
  expect(h.checks).toHaveLength(0);
  expect(h.clock.pending()).toBe(0);
  h.ctl.canaryReady(false);
  expect(h.changes).toHaveLength(0);

  h.ctl.canaryReady(true);
  expect(h.changes).toEqual([
    expect.objectContaining({ from: 'pending', to: 'progressing', weight: 10, previousWeight: 0, step: 0, reason: 'canary has a READY backend' }),
  ]);
  // A second "ready" does not restart anything.
  h.ctl.canaryReady(true);
  expect(h.changes).toHaveLength(1);
});

it('keeps progressing when the canary loses its READY backends (checks just see no canary traffic)', () => {
  const h = harness();
  h.ctl.canaryReady(true);
  h.ctl.canaryReady(false);
  h.clock.advance(h.config.intervalMs);
  expect(h.ctl.view()).toMatchObject({ state: 'progressing', weight: 10, canaryReady: false });
  expect(h.checks[0]?.verdict).toBe('inconclusive');
});

it('start: manual stays pending, even with a READY canary, until start()', () => {
  const h = harness({ start: 'manual' });
  h.ctl.canaryReady(true);
  h.clock.advance(h.config.intervalMs * 3);
  expect(h.ctl.view()).toMatchObject({ state: 'pending', weight: 0, reason: 'waiting for an operator start (start: manual)' });
  expect(h.ctl.start()).toBe(true);
  expect(h.ctl.view()).toMatchObject({ state: 'progressing', weight: 10 });
  expect(h.changes.at(-1)?.reason).toBe('started by operator');
  expect(h.ctl.start()).toBe(false); // already progressing
});

it('start: manual also starts on resume()', () => {
  const h = harness({ start: 'manual' });
  h.ctl.canaryReady(true);
  expect(h.ctl.resume()).toBe(true);
  expect(h.ctl.view().state).toBe('progressing');
});

it('a manual start before the canary is READY waits for it, then starts by itself', () => {
  const h = harness({ start: 'manual' });
  h.ctl.start();
  expect(h.ctl.view()).toMatchObject({ state: 'pending', reason: 'waiting for a READY canary backend' });
  expect(h.ctl.weights().canary).toBe(0);
  h.ctl.canaryReady(true);
  expect(h.ctl.view()).toMatchObject({ state: 'progressing', weight: 10 });
});

it('start() after a rollback begins a new rollout from the first step with a clean failure count', () => {
  const h = harness();
  h.ctl.canaryReady(true);
  h.intervals(1, 2_000, healthy(60), healthy(20)); // one failed latency check
  h.ctl.abort();
  expect(h.ctl.start()).toBe(true);
  expect(h.ctl.view()).toMatchObject({ state: 'progressing', weight: 10, step: 0, failedChecks: 0 });
});

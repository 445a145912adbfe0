// Operator actions: pause, resume, promote, abort, setWeight — each a transition with a reason, each obeyed from any sensible state.
import { expect, it } from 'vitest';
import { harness, healthy } from './harness.js';

it('pause stops the steps and the checks; resume continues at the same step', () => {
  const h = harness();
  h.ctl.canaryReady(true);
  h.intervals(1, 2_000, healthy()); // -> 25
  expect(h.ctl.pause()).toBe(true);
  expect(h.ctl.view()).toMatchObject({ state: 'paused', weight: 25, step: 1, reason: 'paused by operator' });
  expect(h.clock.pending()).toBe(0);
  h.intervals(3, 2_000, healthy());
  expect(h.ctl.weights().canary).toBe(25);
  expect(h.checks).toHaveLength(1);
  expect(h.ctl.pause()).toBe(false);

  expect(h.ctl.resume()).toBe(true);
  expect(h.ctl.view()).toMatchObject({ state: 'progressing', weight: 25, step: 1 });
  h.intervals(1, 2_000, healthy());
  expect(h.ctl.weights().canary).toBe(50);
  expect(h.ctl.resume()).toBe(false);
});

it('a check after resume judges only traffic since the resume', () => {
  const h = harness();
  h.ctl.canaryReady(true);
  h.send(1_000, healthy());
  h.ctl.pause();
  h.send(1_000, healthy());
  h.clock.advance(10_000);
  h.ctl.resume();
  h.send(1_000, healthy());
  h.clock.advance(h.config.intervalMs);
  expect(h.checks[0]?.windowMs).toBe(30_000);
  expect(h.checks[0]!.canary.requests + h.checks[0]!.stable.requests).toBe(1_000);
});

it('promote jumps to 100% at once', () => {
  const h = harness();
  h.ctl.canaryReady(true);
  expect(h.ctl.promote()).toBe(true);
  expect(h.ctl.weights()).toEqual({ canary: 100, stable: 0 });
  expect(h.ctl.view()).toMatchObject({ state: 'promoted', reason: 'promoted by operator', step: 3 });
  expect(h.changes.at(-1)).toMatchObject({ from: 'progressing', to: 'promoted', weight: 100, previousWeight: 10 });
  expect(h.clock.pending()).toBe(0);
  expect(h.ctl.promote()).toBe(false);
});

it('abort rolls back at once with "aborted by operator" (or a given reason)', () => {
  const h = harness();
  h.ctl.canaryReady(true);
  h.intervals(2, 2_000, healthy()); // -> 50
  expect(h.ctl.abort()).toBe(true);
  expect(h.ctl.weights()).toEqual({ canary: 0, stable: 100 });
  expect(h.ctl.view()).toMatchObject({ state: 'rolled-back', step: 2, reason: 'aborted by operator' });
  expect(h.changes.at(-1)).toMatchObject({ to: 'rolled-back', weight: 0, previousWeight: 50, reason: 'aborted by operator' });
  expect(h.ctl.abort()).toBe(false);

  const h2 = harness();
  h2.ctl.canaryReady(true);
  h2.ctl.abort('model v3 gives wrong answers');
  expect(h2.ctl.view().reason).toBe('model v3 gives wrong answers');
});

it('setWeight sets the weight by hand and pauses; resume continues from the next step above it', () => {
  const h = harness();
  h.ctl.canaryReady(true);
  expect(h.ctl.setWeight(30)).toBe(true);
  expect(h.ctl.view()).toMatchObject({ state: 'paused', weight: 30, step: 1, reason: 'weight set to 30% by operator' });
  expect(h.changes.at(-1)).toMatchObject({ from: 'progressing', to: 'paused', weight: 30, stableWeight: 70 });
  h.intervals(2, 2_000, healthy());
  expect(h.ctl.weights().canary).toBe(30);

  h.ctl.resume();
  expect(h.ctl.view()).toMatchObject({ state: 'progressing', weight: 30 });
  h.intervals(1, 2_000, healthy());
  expect(h.ctl.weights().canary).toBe(50);
});

it('setWeight(0) then resume restarts at the first step; setWeight(100) then resume promotes', () => {
  const h = harness();
  h.ctl.canaryReady(true);
  h.ctl.setWeight(0);
  expect(h.ctl.weights()).toEqual({ canary: 0, stable: 100 });
  h.ctl.resume();
  expect(h.ctl.view()).toMatchObject({ state: 'progressing', weight: 10, step: 0 });

  h.ctl.setWeight(100);
  h.ctl.resume();
  expect(h.ctl.view()).toMatchObject({ state: 'promoted', weight: 100, reason: 'resumed at 100%' });
});

it('setWeight works from promoted and rolled-back too (the operator is in charge)', () => {
  const h = harness();
  h.ctl.promote();
  h.ctl.setWeight(40);
  expect(h.ctl.view()).toMatchObject({ state: 'paused', weight: 40 });
  h.ctl.abort();
  h.ctl.setWeight(5);
  expect(h.ctl.view()).toMatchObject({ state: 'paused', weight: 5, step: -1 });
});

it('setWeight rejects weights outside 0..100', () => {
  const h = harness();
  expect(() => h.ctl.setWeight(101)).toThrow(RangeError);
  expect(() => h.ctl.setWeight(-1)).toThrow(RangeError);
  expect(() => h.ctl.setWeight(Number.NaN)).toThrow(RangeError);
  expect(h.changes).toHaveLength(0);
});

it('history keeps operator actions with the last check figures', () => {
  const h = harness();
  h.ctl.canaryReady(true);
  h.intervals(1, 2_000, healthy());
  h.ctl.pause();
  const last = h.ctl.view().history.at(-1);
  expect(last).toMatchObject({ from: 'progressing', to: 'paused', weight: 25, step: 1, reason: 'paused by operator' });
  expect(last?.check).toBe(h.checks[0]);
});

it('stop() cancels the check timer', () => {
  const h = harness();
  h.ctl.canaryReady(true);
  expect(h.clock.pending()).toBe(1);
  h.ctl.stop();
  expect(h.clock.pending()).toBe(0);
  h.intervals(2, 2_000, healthy());
  expect(h.checks).toHaveLength(0);
});

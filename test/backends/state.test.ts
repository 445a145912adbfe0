// The probe hysteresis step and the derived backend state, exhaustively over small thresholds.
import { describe, expect, test } from 'vitest';
import { deriveState, initialProbeView, probeStep, type ProbeEvent, type ProbeView } from '../../src/backends/state.js';

const pass: ProbeEvent = { type: 'probe-pass' };
const fail: ProbeEvent = { type: 'probe-fail' };
const THRESHOLDS = [1, 2, 3];

/** Feed a sequence of events from `start`, returning every intermediate step. */
function run(start: ProbeView, events: ProbeEvent[], t: { healthyThreshold: number; unhealthyThreshold: number }) {
  const steps = [];
  let view = start;
  for (const e of events) {
    const s = probeStep(view, e, t);
    steps.push(s);
    view = s.next;
  }
  return { steps, view };
}

test('a backend starts LOADING with no streak', () => {
  expect(initialProbeView).toEqual({ state: 'LOADING', streak: 0 });
});

describe.each(THRESHOLDS.flatMap((h) => THRESHOLDS.map((u) => [h, u] as const)))('healthyThreshold %i, unhealthyThreshold %i', (h, u) => {
  const t = { healthyThreshold: h, unhealthyThreshold: u };

  test('LOADING stays LOADING on any number of failures, without a streak', () => {
    const { steps, view } = run(initialProbeView, Array(5).fill(fail), t);
    expect(steps.every((s) => !s.flipped)).toBe(true);
    expect(view).toEqual({ state: 'LOADING', streak: 0 });
  });

  test('LOADING becomes READY on the first pass, whatever healthyThreshold is', () => {
    const s = probeStep(initialProbeView, pass, t);
    expect(s).toEqual({ next: { state: 'READY', streak: 0 }, flipped: true });
    const afterFails = run(initialProbeView, [fail, fail, pass], t);
    expect(afterFails.view).toEqual({ state: 'READY', streak: 0 });
    expect(afterFails.steps.map((x) => x.flipped)).toEqual([false, false, true]);
  });

  test('READY becomes UNREADY after exactly unhealthyThreshold consecutive failures', () => {
    const ready: ProbeView = { state: 'READY', streak: 0 };
    const { steps, view } = run(ready, Array(u).fill(fail), t);
    expect(steps.map((s) => s.flipped)).toEqual([...Array(u - 1).fill(false), true]);
    for (let i = 0; i < u - 1; i++) expect(steps[i]!.next).toEqual({ state: 'READY', streak: i + 1 });
    expect(view).toEqual({ state: 'UNREADY', streak: 0 });
  });

  test('a pass on READY resets the failure streak', () => {
    for (let streak = 0; streak < u; streak++) {
      const s = probeStep({ state: 'READY', streak }, pass, t);
      expect(s).toEqual({ next: { state: 'READY', streak: 0 }, flipped: false });
    }
    // Interleaved failures never reach the threshold.
    const events = Array.from({ length: 10 }, () => [...Array(u - 1).fill(fail), pass]).flat();
    const { steps, view } = run({ state: 'READY', streak: 0 }, events, t);
    expect(steps.some((s) => s.flipped)).toBe(false);
    expect(view.state).toBe('READY');
  });

  test('UNREADY becomes READY after exactly healthyThreshold consecutive passes', () => {
    const unready: ProbeView = { state: 'UNREADY', streak: 0 };
    const { steps, view } = run(unready, Array(h).fill(pass), t);
    expect(steps.map((s) => s.flipped)).toEqual([...Array(h - 1).fill(false), true]);
    for (let i = 0; i < h - 1; i++) expect(steps[i]!.next).toEqual({ state: 'UNREADY', streak: i + 1 });
    expect(view).toEqual({ state: 'READY', streak: 0 });
  });

  test('a failure on UNREADY resets the pass streak', () => {
    for (let streak = 0; streak < h; streak++) {
      const s = probeStep({ state: 'UNREADY', streak }, fail, t);
      expect(s).toEqual({ next: { state: 'UNREADY', streak: 0 }, flipped: false });
    }
    const events = Array.from({ length: 10 }, () => [...Array(h - 1).fill(pass), fail]).flat();
    const { steps, view } = run({ state: 'UNREADY', streak: 0 }, events, t);
    expect(steps.some((s) => s.flipped)).toBe(false);
    expect(view.state).toBe('UNREADY');
  });

  test('a full cycle flips exactly twice and returns to READY', () => {
    const events = [...Array(u).fill(fail), ...Array(h).fill(pass)];
    const { steps, view } = run({ state: 'READY', streak: 0 }, events, t);
    expect(steps.filter((s) => s.flipped)).toHaveLength(2);
    expect(view).toEqual({ state: 'READY', streak: 0 });
  });
});

test('the step is pure: the input view is never mutated', () => {
  const view: ProbeView = Object.freeze({ state: 'READY', streak: 1 });
  probeStep(view, fail, { healthyThreshold: 2, unhealthyThreshold: 3 });
  expect(view).toEqual({ state: 'READY', streak: 1 });
});

describe('deriveState', () => {
  test.each(['LOADING', 'READY', 'UNREADY'] as const)('probe %s, not draining -> the probe state', (probe) => {
    expect(deriveState({ probe, draining: false })).toBe(probe);
  });
  test.each(['LOADING', 'READY', 'UNREADY'] as const)('probe %s, draining -> DRAINING', (probe) => {
    expect(deriveState({ probe, draining: true })).toBe('DRAINING');
  });
});

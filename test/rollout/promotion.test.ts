// A healthy canary walks through every step and is promoted: 10 -> 25 -> 50 -> 100, stable 0.
import { expect, it } from 'vitest';
import { harness, healthy } from './harness.js';

it('promotes a healthy canary through every step', () => {
  const h = harness();
  expect(h.ctl.view().state).toBe('pending');
  expect(h.ctl.weights()).toEqual({ canary: 0, stable: 100 });

  h.ctl.canaryReady(true);
  expect(h.ctl.view()).toMatchObject({ state: 'progressing', weight: 10, step: 0 });

  h.intervals(3, 2_000, healthy());

  expect(h.changes.map((c) => c.weight)).toEqual([10, 25, 50, 100]);
  expect(h.changes.map((c) => c.to)).toEqual(['progressing', 'progressing', 'progressing', 'promoted']);
  expect(h.ctl.weights()).toEqual({ canary: 100, stable: 0 });
  const v = h.ctl.view();
  expect(v).toMatchObject({ state: 'promoted', weight: 100, stableWeight: 0, step: 3, steps: [10, 25, 50, 100], reason: 'all steps passed at 50%' });
  expect(h.checks.map((c) => c.verdict)).toEqual(['pass', 'pass', 'pass']);
  // Promoted: no timer left, and more time changes nothing.
  expect(h.clock.pending()).toBe(0);
  h.intervals(2, 500, healthy());
  expect(h.changes).toHaveLength(4);
});

it('records history entries with time, from, to, weight, reason and the check that caused them', () => {
  const h = harness();
  h.ctl.canaryReady(true);
  h.intervals(3, 2_000, healthy());
  const hist = h.ctl.view().history;
  expect(hist.map((e) => [e.from, e.to, e.weight, e.step, e.reason])).toEqual([
    ['pending', 'progressing', 10, 0, 'canary has a READY backend'],
    ['progressing', 'progressing', 25, 1, 'check passed at 10%'],
    ['progressing', 'progressing', 50, 2, 'check passed at 25%'],
    ['progressing', 'promoted', 100, 3, 'all steps passed at 50%'],
  ]);
  expect(hist[0]?.at).toBe(new Date(1_700_000_000_000).toISOString());
  expect(hist[1]?.at).toBe(new Date(1_700_000_030_000).toISOString());
  expect(hist[0]?.check).toBeNull();
  const check = hist[1]?.check;
  expect(check).toMatchObject({ verdict: 'pass', windowMs: 30_000, quantile: 0.99, failures: [], reason: null });
  // About 10% of 2,000 requests went to the canary.
  expect(check?.canary.requests).toBeGreaterThan(150);
  expect(check?.canary.requests).toBeLessThan(250);
  expect(check!.canary.requests + check!.stable.requests).toBe(2_000);
  expect(check?.canary.errorRate).toBe(0);
  expect(check?.canary.latencyMs).toBeGreaterThan(16);
  expect(check?.canary.latencyMs).toBeLessThanOrEqual(24);
  expect(check?.latencyRatio).toBeGreaterThan(0.8);
  expect(check?.latencyRatio).toBeLessThan(1.25);
  expect(check?.errorRatio).toBe(0);
  expect(h.ctl.view().lastCheck).toBe(h.checks.at(-1));
  expect(h.ctl.view().since).toBe(hist.at(-1)?.at);
});

it('promotes after passing the last step when the steps stop below 100', () => {
  const h = harness({ steps: [5, 50] });
  h.ctl.canaryReady(true);
  h.intervals(2, 2_000, healthy());
  expect(h.changes.map((c) => [c.to, c.weight])).toEqual([
    ['progressing', 5],
    ['progressing', 50],
    ['promoted', 100],
  ]);
  expect(h.ctl.view().step).toBe(1);
});

it('keeps the history bounded to the last 50 transitions', () => {
  const h = harness();
  for (let i = 0; i < 40; i++) {
    h.ctl.setWeight(i % 100);
    h.ctl.abort();
  }
  const hist = h.ctl.view().history;
  expect(hist).toHaveLength(50);
  expect(hist.at(-1)?.to).toBe('rolled-back');
  expect(hist[0]?.reason).toBe('weight set to 15% by operator');
});

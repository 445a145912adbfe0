// The per-interval request window: counts, a reservoir sample of latencies (sorted at check time), quantiles, reset.
import { expect, it } from 'vitest';
import { RequestWindow } from '../../src/rollout/window.js';
import { seededRandom } from '../helpers/manual-clock.js';

it('computes nearest-rank quantiles exactly while under the reservoir size', () => {
  const w = new RequestWindow(seededRandom(1));
  for (let i = 1; i <= 100; i++) w.record(true, i);
  expect(w.quantile(0.5)).toBe(50);
  expect(w.quantile(0.99)).toBe(99);
  expect(w.quantile(1)).toBe(100);
  expect(w.quantile(0.001)).toBe(1);
});

it('stays close to the true quantile beyond the reservoir size', () => {
  const w = new RequestWindow(seededRandom(2), 2_000);
  const r = seededRandom(3);
  for (let i = 0; i < 100_000; i++) w.record(true, r() * 1_000); // uniform 0..1000 ms
  expect(w.quantile(0.5)).toBeGreaterThan(470);
  expect(w.quantile(0.5)).toBeLessThan(530);
  expect(w.quantile(0.99)).toBeGreaterThan(980);
  expect(w.requests).toBe(100_000);
});

it('counts errors without sampling their latency, sorts the sample at check time, and resets', () => {
  const w = new RequestWindow(seededRandom(1));
  w.record(true, 30);
  w.record(false, 1);
  w.record(false, 1);
  w.record(true, 10);
  expect(w.sample()).toEqual({ requests: 4, errors: 2, latencies: Float64Array.from([10, 30]) });
  w.reset();
  expect(w.sample()).toEqual({ requests: 0, errors: 0, latencies: new Float64Array(0) });
  expect(w.quantile(0.99)).toBeNull();
  w.record(true, 5);
  expect(w.quantile(0.99)).toBe(5); // no stale samples from before the reset
});

// The sliding outcome window: buckets expire as time moves, counts stay exact within a bucket.
import { expect, it } from 'vitest';
import { OutcomeWindow } from '../../src/outlier/window.js';

it('counts requests and errors and lets whole buckets expire', () => {
  const w = new OutcomeWindow(10_000, 0); // 10 buckets of 1 s
  w.record(true, 0);
  w.record(false, 500);
  w.record(false, 4_200);
  expect([w.requests(4_200), w.errors(4_200)]).toEqual([3, 1]);
  expect([w.requests(9_999), w.errors(9_999)]).toEqual([3, 1]);
  expect([w.requests(10_000), w.errors(10_000)]).toEqual([1, 0]); // the bucket of second 0 has left
  expect(w.requests(13_999)).toBe(1);
  expect(w.requests(14_000)).toBe(0); // the bucket of second 4 has left
});

it('a long gap clears everything', () => {
  const w = new OutcomeWindow(1_000, 0);
  for (let t = 0; t < 1_000; t += 10) w.record(t % 20 === 0, t);
  expect([w.requests(999), w.errors(999)]).toEqual([100, 50]);
  expect(w.requests(1_000_000)).toBe(0);
  w.record(true, 1_000_001);
  expect([w.requests(1_000_001), w.errors(1_000_001)]).toEqual([1, 1]);
});

it('clear() empties it', () => {
  const w = new OutcomeWindow(1_000, 0);
  w.record(true, 1);
  w.clear();
  expect(w.requests(1)).toBe(0);
});

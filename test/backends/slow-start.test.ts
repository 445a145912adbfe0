// The slow-start ramp: floor, linear, full at the end of the window, off when the window is 0.
import { expect, it } from 'vitest';
import { rampFactor, SLOW_START_FLOOR } from '../../src/backends/slow-start.js';

it.each([
  [0, 10_000, SLOW_START_FLOOR],
  [500, 10_000, SLOW_START_FLOOR],
  [2_500, 10_000, 0.25],
  [5_000, 10_000, 0.5],
  [9_999, 10_000, 0.9999],
  [10_000, 10_000, 1],
  [50_000, 10_000, 1],
  [0, 0, 1],
])('elapsed %i ms of %i ms -> %f', (elapsed, window, factor) => {
  expect(rampFactor(elapsed, window)).toBeCloseTo(factor, 6);
});

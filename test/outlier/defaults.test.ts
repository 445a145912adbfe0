// Defaults and the merge of partial config: what a pool gets when it writes little or nothing.
import { expect, it } from 'vitest';
import { FAILURE_RATE_DEFAULTS, OUTLIER_DEFAULTS, outlierConfigProblems, withOutlierDefaults } from '../../src/outlier/detector.js';

it('the defaults', () => {
  expect(OUTLIER_DEFAULTS).toEqual({
    consecutive5xx: 5,
    consecutiveGatewayErrors: 3,
    failureRate: null,
    baseEjectionTimeMs: 30_000,
    maxEjectionTimeMs: 300_000,
    maxEjectionPercent: 10,
    intervalMs: 10_000,
  });
  expect(outlierConfigProblems(OUTLIER_DEFAULTS)).toEqual([]);
});

it('nothing written: the defaults, failure rate off', () => {
  expect(withOutlierDefaults()).toEqual(OUTLIER_DEFAULTS);
  expect(withOutlierDefaults({ failureRate: null }).failureRate).toBeNull();
});

it('given keys win, undefined ones do not erase defaults', () => {
  const c = withOutlierDefaults({ consecutive5xx: 7, maxEjectionPercent: undefined });
  expect(c.consecutive5xx).toBe(7);
  expect(c.maxEjectionPercent).toBe(10);
});

it('a failureRate block turns the detector on and fills its missing keys', () => {
  expect(withOutlierDefaults({ failureRate: {} }).failureRate).toEqual(FAILURE_RATE_DEFAULTS);
  expect(withOutlierDefaults({ failureRate: { threshold: 0.2 } }).failureRate).toEqual({ ...FAILURE_RATE_DEFAULTS, threshold: 0.2 });
});

it('problems name their keys', () => {
  const bad = { ...OUTLIER_DEFAULTS, intervalMs: 0, consecutive5xx: 1.5, failureRate: { threshold: 0, minRequests: -1, windowMs: 5 } };
  expect(outlierConfigProblems(bad)).toEqual([
    'consecutive5xx must be a whole number >= 0 (got 1.5)',
    'interval must be > 0 (got 0)',
    'failureRate.threshold must be in (0, 1] (got 0)',
    'failureRate.minRequests must be a whole number >= 0 (got -1)',
    'failureRate.window must be >= 10ms (got 5)',
  ]);
});

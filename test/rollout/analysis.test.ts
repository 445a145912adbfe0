// The canary-versus-stable judgement as a pure function: thresholds, floors, order of verdicts.
import { expect, it } from 'vitest';
import { analyse, ERROR_RATE_FLOOR } from '../../src/rollout/analysis.js';
import type { CheckFigures } from '../../src/rollout/types.js';
import { rolloutConfig } from '../helpers/config.js';

const t = rolloutConfig({ minRequests: 100 });
const fig = (requests: number, errors: number, latencyMs: number | null = 20): CheckFigures => ({ requests, errors, errorRate: requests ? errors / requests : 0, latencyMs });
const at = '2024-01-01T00:00:00.000Z';

it.each([
  ['too few canary requests', fig(99, 99), fig(1_000, 0), 'inconclusive', []],
  ['healthy', fig(100, 0), fig(1_000, 0), 'pass', []],
  ['absolute error rate above 5%', fig(100, 6), fig(1_000, 50), 'fail', ['error-rate']],
  ['exactly at the absolute maximum passes it', fig(100, 5), fig(1_000, 50), 'pass', []],
  ['1 error vs stable 0: floored ratio 1 passes', fig(100, 1), fig(1_000, 0), 'pass', []],
  ['3% vs stable 0%: floored ratio 3 fails', fig(100, 3), fig(1_000, 0), 'fail', ['error-ratio']],
  ['4% vs stable 3%: ratio 1.33 passes', fig(100, 4), fig(1_000, 30), 'pass', []],
  ['latency 31 vs 20 (1.55x) fails', fig(100, 0, 31), fig(1_000, 0, 20), 'fail', ['latency-ratio']],
  ['latency 30 vs 20 (1.5x) passes', fig(100, 0, 30), fig(1_000, 0, 20), 'pass', []],
  ['stable 0.2 ms is floored to 1 ms', fig(100, 0, 1.4), fig(1_000, 0, 0.2), 'pass', []],
  ['no stable baseline yet', fig(100, 0), fig(99, 0), 'inconclusive', []],
  ['no stable baseline, but absolute breach', fig(100, 50), fig(10, 0), 'fail', ['error-rate']],
  ['several failures at once', fig(100, 10, 100), fig(1_000, 0, 20), 'fail', ['error-rate', 'error-ratio', 'latency-ratio']],
] as const)('%s', (_name, canary, stable, verdict, failures) => {
  const c = analyse(canary, stable, t, 30_000, at);
  expect(c.verdict).toBe(verdict);
  expect(c.failures).toEqual(failures);
  expect(c.reason === null).toBe(verdict === 'pass');
});

it('reports ratios and figures', () => {
  const c = analyse(fig(100, 3, 30), fig(1_000, 5, 20), t, 30_000, at);
  expect(c.errorRatio).toBeCloseTo(0.03 / ERROR_RATE_FLOOR, 6);
  expect(c.latencyRatio).toBe(1.5);
  expect(c).toMatchObject({ at, windowMs: 30_000, quantile: 0.99 });
  expect(c.reason).toBe('error ratio 3.00x > 2.00x (canary 3.0%, stable 0.5%)');
});

it('with both ratio checks off needs no stable baseline', () => {
  const c = analyse(fig(100, 0), fig(0, 0, null), { ...t, maxErrorRatio: null, maxLatencyRatio: null }, 30_000, at);
  expect(c).toMatchObject({ verdict: 'pass', errorRatio: null, latencyRatio: null });
});

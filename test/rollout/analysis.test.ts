// The canary-versus-stable judgement as a pure function: samples per criterion, floors, tests, the three verdicts and their evidence.
import { describe, expect, it } from 'vitest';
import { analyse, comparedQuantile, ERROR_RATE_FLOOR } from '../../src/rollout/analysis.js';
import type { RolloutSpec } from '../../src/config/types.js';
import type { BackendOut } from '../../src/rollout/types.js';
import type { WindowSample } from '../../src/rollout/window.js';
import { rolloutConfig } from '../helpers/config.js';

const at = '2024-01-01T00:00:00.000Z';

/** n latencies spread evenly over median × [1 - width/2, 1 + width/2]. */
function spread(n: number, median: number, width = 0.4): number[] {
  return Array.from({ length: n }, (_, i) => median * (1 - width / 2 + (width * (i + 0.5)) / n));
}

function side(requests: number, errors: number, latencies: number[]): WindowSample {
  return { requests, errors, latencies: Float64Array.from(latencies).sort() };
}

/** `requests` of which `errors` failed; the successes' latencies spread around `median`. */
const win = (requests: number, errors: number, median = 20, width = 0.4): WindowSample => side(requests, errors, spread(requests - errors, median, width));

/** 95 % of requests spread around `median`, the slowest 5 % `slowMs` (a slow tail only). */
function slowTail(n: number, median: number, slowMs: number): WindowSample {
  const k = Math.round(n * 0.05);
  return side(n, 0, [...spread(n - k, median), ...Array<number>(k).fill(slowMs)]);
}

const check = (c: WindowSample, s: WindowSample, t: Partial<RolloutSpec> = {}, out: BackendOut[] = []) => analyse(c, s, rolloutConfig(t), 60_000, at, out);

describe('verdicts (defaults: minRequests 50, maxErrorRate 5 %, maxErrorRatio 2, minErrorIncrease 1 point, maxLatencyRatio 1.25, minLatencyIncrease 5 ms, confidence 0.99)', () => {
  it.each<[string, WindowSample, WindowSample, Partial<RolloutSpec>, string, string[]]>([
    // samples per criterion
    ['49 canary requests: too few to judge', win(49, 0), win(1_000, 0), {}, 'inconclusive', []],
    ['healthy, 200 against 2,000', win(200, 0), win(2_000, 0), {}, 'pass', []],
    ['49 stable requests: no baseline for the comparisons', win(200, 0), win(49, 0), {}, 'inconclusive', []],
    ['both comparisons off: no baseline needed', win(200, 0), side(0, 0, []), { maxErrorRatio: null, maxLatencyRatio: null }, 'pass', []],
    ['enough requests but 45 latency samples (the rest errors) with error criteria lenient', win(60, 15), win(1_000, 250), { maxErrorRate: 0.5 }, 'inconclusive', []],
    // absolute error rate
    ['20 % errors in 100: above 5 %, shown', win(100, 20), win(1_000, 200), {}, 'fail', ['error-rate']],
    ['6 errors in 100 (stable alike): above 5 % but not shown -> waits', win(100, 6), win(1_000, 60), {}, 'inconclusive', []],
    ['2 errors in 200 (stable alike): below 5 % even pessimistically', win(200, 2), win(2_000, 20), {}, 'pass', []],
    // errors against stable
    ['3 % of 100 against 0 of 1,000: ratio 3, +3 points, p = 0.0004', win(100, 3), win(1_000, 0), {}, 'fail', ['error-ratio']],
    ['1 error in 100 against none: ratio 1, but it could still be a 2 % canary -> waits', win(100, 1), win(1_000, 0), {}, 'inconclusive', []],
    ['1 % of 400 against none: within the thresholds even pessimistically', win(400, 4), win(4_000, 0), {}, 'pass', []],
    ['4 % against 3 % (ratio 1.33)', win(1_000, 40), win(4_000, 120), {}, 'pass', []],
    ['4 % against 0 with minErrorIncrease 5 points: below the floor', win(2_000, 80), win(4_000, 0), { minErrorIncrease: 0.05 }, 'pass', []],
    ['5.5 % against 0.5 % over 300: the issue\'s bad canary', win(300, 17), win(3_000, 15), {}, 'fail', ['error-ratio']],
    // latency
    ['median 1.5x slower over 200 samples', win(200, 0, 30), win(2_000, 0, 20), {}, 'fail', ['latency-ratio']],
    ['median 1.2x slower: within maxLatencyRatio 1.25', win(200, 0, 24), win(2_000, 0, 20), {}, 'pass', []],
    ['3 ms against 2 ms (1.5x): below minLatencyIncrease 5 ms', win(200, 0, 3), win(2_000, 0, 2), {}, 'pass', []],
    ['7 ms against 3 ms (2.3x): below minLatencyIncrease 5 ms', win(200, 0, 7), win(2_000, 0, 3), {}, 'pass', []],
    ['stable 0.2 ms is floored to 1 ms: 1.4 ms is 1.4x, not 7x', win(200, 0, 1.4), win(2_000, 0, 0.2), { minLatencyIncreaseMs: 0, maxLatencyRatio: 2 }, 'pass', []],
    ['the slowest 12 of 50 are 1.4x slower: beyond the ratio at p80, not significant -> waits', side(50, 0, spread(50, 20, 1.6).map((v, i) => (i >= 38 ? v * 1.4 : v))), win(50, 0, 20, 1.6), {}, 'inconclusive', []],
    ['only the slowest 5 % slower (10x), 1,000 a side: the tail fails, the median does not', slowTail(1_000, 20, 200), win(1_000, 0, 20), {}, 'fail', ['latency-ratio']],
    ['the same slow tail with latencyQuantile 0.5: not compared', slowTail(1_000, 20, 200), win(1_000, 0, 20), { latencyQuantile: 0.5 }, 'pass', []],
    // several at once
    ['20 % errors and 5x slower', win(100, 20, 100), win(1_000, 0, 20), {}, 'fail', ['error-rate', 'error-ratio', 'latency-ratio']],
    ['10 % errors in 100: not yet shown above 5 % (p = 0.03), but far above stable', win(100, 10), win(1_000, 0), {}, 'fail', ['error-ratio']],
  ])('%s', (_name, canary, stable, t, verdict, failures) => {
    const c = check(canary, stable, t);
    expect(c.verdict, c.reason ?? '').toBe(verdict);
    expect(c.failures).toEqual(failures);
    expect(c.reason === null).toBe(verdict === 'pass');
  });
});

describe('the issue\'s false rollback: "p99 latency ratio 2.13x > 1.50x (canary 16.4 ms, stable 7.7 ms)"', () => {
  it('a handful of samples is too few to judge latency', () => {
    const c = check(side(12, 0, [...spread(11, 6), 16.4]), side(300, 0, [...spread(299, 6), 7.7]));
    expect(c.verdict).toBe('inconclusive');
    expect(c.reason).toBe('12 canary requests, 50 needed');
  });

  it('with 60 samples a side one slow request sets neither the compared quantile (p83) nor the verdict', () => {
    const c = check(side(60, 0, [...spread(59, 6), 16.4]), side(60, 0, [...spread(59, 6), 7.7]));
    expect(c.verdict).toBe('pass');
    expect(c.latency.tail).toMatchObject({ quantile: 0.83, verdict: 'pass' });
    expect(c.latency.tail!.ratio).toBeCloseTo(1, 1);
  });
});

it('a canary backend out of service fails the check whatever the figures, even with too few requests', () => {
  const out: BackendOut[] = [{ id: 'mlp.canary.127.0.0.1:9104', state: 'EJECTED', reason: 'ejected for 30 s: 5 consecutive server errors', since: at }];
  const c = check(win(10, 0), win(1_000, 0), {}, out);
  expect(c).toMatchObject({ verdict: 'fail', failures: ['backend-out'], backendsOut: out });
  expect(c.reason).toBe('canary backend out of service: mlp.canary.127.0.0.1:9104 EJECTED (ejected for 30 s: 5 consecutive server errors)');
});

it('shows the evidence: samples, values, thresholds, tests and p-values', () => {
  const c = check(win(200, 2, 30), win(2_000, 5, 20));
  expect(c).toMatchObject({ verdict: 'fail', failures: ['latency-ratio'], alpha: 0.01, quantile: 0.99 });
  expect(c.errorRate).toMatchObject({ verdict: 'pass', rate: 0.01, max: 0.05, minRequests: 50 });
  expect(c.errorRate.upper).toBeLessThan(0.05);
  expect(c.errors).toMatchObject({ verdict: 'pass', maxRatio: 2, minIncrease: 0.01, minRequests: 50 });
  expect(c.errors.ratio).toBeCloseTo(0.01 / ERROR_RATE_FLOOR, 9);
  expect(c.errorRatio).toBe(c.errors.ratio);
  expect(c.errors.difference).toBeCloseTo(0.01 - 0.0025, 9);
  expect(c.errors.pessimistic!.canary).toBeLessThan(0.02);
  expect(c.errors.pValue).toBeGreaterThan(0.01);
  expect(c.latency).toMatchObject({ verdict: 'fail', samples: { canary: 198, stable: 1_995 }, minSamples: 50, maxRatio: 1.25, minIncreaseMs: 5, alpha: 0.005 });
  expect(c.latency.typical).toMatchObject({ verdict: 'fail', quantile: 0.5, test: 'mann-whitney' });
  expect(c.latency.typical.ratio).toBeCloseTo(1.5, 2);
  expect(c.latency.typical.statistic).toBeGreaterThan(0.9 * 198 * 1_995);
  expect(c.latency.typical.pValue).toBeLessThan(1e-10);
  expect(c.latency.probabilitySlower).toBeGreaterThan(0.9);
  // 198 canary samples support p94 (10 above it), not the configured p99.
  expect(c.latency.tail).toMatchObject({ verdict: 'fail', quantile: 0.94, test: 'tail-share' });
  expect(c.canary.latencyMs).toBe(c.latency.tail!.canaryMs);
  expect(c.latencyRatio).toBe(c.latency.tail!.ratio);
  expect(c.reason).toMatch(/^p50 latency ratio 1\.50x > 1\.25x \(canary 30\.0 ms, stable 20\.0 ms, \+10\.0 ms > 5\.0 ms, 198 vs 1995 samples, Mann-Whitney p < 0\.0001\); p94 latency ratio/);
  expect(c.reason).toMatch(/p99 needs 1000 samples per side\)$/);
});

it('says why it waits when the figures look bad but the evidence is not there yet', () => {
  const c = check(win(100, 1), win(1_000, 0));
  expect(c.errors.verdict).toBe('undecided');
  expect(c.reason).toMatch(/^undecided at 99% confidence, waiting for more requests: canary errors 1\.0% of 100 against stable 0\.0% of 1000 could be a regression \(up to 2\.\d% against 0\.0%\)/);
});

it.each([
  [0.99, 50, 0.8],
  [0.99, 100, 0.9],
  [0.99, 203, 0.95],
  [0.99, 1_000, 0.99],
  [0.99, 2_000, 0.99],
  [0.999, 2_000, 0.99],
  [0.5, 50, 0.5],
  [0.99, 12, 0.5],
])('compares quantile %d over %d samples as %d', (q, n, want) => {
  expect(comparedQuantile(q, n)).toBe(want);
});

it('a slow tail alone fails at the tail point (share at or above the pooled p99), not at the median', () => {
  const c = check(slowTail(1_000, 20, 200), win(1_000, 0, 20));
  expect(c.latency.typical).toMatchObject({ verdict: 'pass', quantile: 0.5 });
  expect(c.latency.tail).toMatchObject({ verdict: 'fail', quantile: 0.99, canaryMs: 200, test: 'tail-share', statistic: 50 });
  expect(c.reason).toMatch(/^p99 latency ratio 8\.\d\dx > 1\.25x \(canary 200\.0 ms, stable 2\d\.\d ms, .*tail share p < 0\.0001\)$/);
});

// Canary versus stable over one window: a pure function from both sides' samples and the thresholds to a verdict and its evidence.

import type { RolloutSpec } from '../config/types.js';
import { binomialMidP, countAtLeast, fisherMidP, mannWhitney, quantileOf, wilson } from './stats.js';
import type {
  BackendOut,
  CheckFailureKind,
  CheckFigures,
  CriterionVerdict,
  ErrorComparisonEvidence,
  ErrorRateEvidence,
  LatencyEvidence,
  LatencyPoint,
  RolloutCheck,
} from './types.js';
import type { WindowSample } from './window.js';

/** Stable error rate used as the denominator when stable has (almost) no errors, so 1 canary error is not "infinitely worse". */
export const ERROR_RATE_FLOOR = 0.01;
/** Stable latency floor in ms, so a near-zero stable quantile does not blow up the ratio. */
export const LATENCY_FLOOR_MS = 1;
/**
 * Samples each side must have above a quantile for it to be compared: p99 needs 1,000 latencies per side, p90 100.
 * With fewer, the highest quantile the window supports is compared instead (never below the median): a p99 over 50
 * samples is the slowest request but one, noise rather than a tail.
 */
export const TAIL_SAMPLES = 10;
/**
 * Normal quantile of the one-sided 80 % intervals an error criterion passes on. Errors are rare events: 0 of 50 and
 * 1 of 50 are both what a canary failing 5 % of its requests shows now and then, so a pass needs the pessimistic end of
 * the interval within the thresholds, not only the point estimate; a window that cannot show it yet keeps growing.
 */
export const PASS_Z = 0.8416;

export type AnalysisThresholds = Pick<
  RolloutSpec,
  'minRequests' | 'maxErrorRate' | 'maxErrorRatio' | 'minErrorIncrease' | 'maxLatencyRatio' | 'minLatencyIncreaseMs' | 'latencyQuantile' | 'confidence'
>;

const pct = (r: number): string => `${(r * 100).toFixed(1)}%`;
const ratio = (r: number): string => `${r.toFixed(2)}x`;
const ms = (v: number): string => `${v.toFixed(1)} ms`;
const qName = (q: number): string => `p${+(q * 100).toFixed(2)}`;
/** A p-value as people read it: two significant digits, tiny ones as "< 0.0001". */
export const pText = (p: number): string => (p < 0.0001 ? 'p < 0.0001' : `p = ${p < 0.01 ? p.toPrecision(2) : p.toFixed(3)}`);

/**
 * A criterion's verdict: beyond the thresholds and significant fails; within them, even pessimistically, passes;
 * anything else is undecided (the window grows until the evidence decides).
 */
function judged(beyond: boolean, pessimisticallyBeyond: boolean, pValue: number, alpha: number): CriterionVerdict {
  if (beyond && pValue < alpha) return 'fail';
  return pessimisticallyBeyond ? 'undecided' : 'pass';
}

/**
 * The compared quantile: the configured one, lowered while the smaller side has fewer than TAIL_SAMPLES above it, to a
 * whole percentile (p95, not p95.07), never below the median.
 */
export function comparedQuantile(q: number, samples: number): number {
  const supported = Math.floor(100 * (1 - TAIL_SAMPLES / Math.max(1, samples)) + 1e-9) / 100;
  return Math.min(q, Math.max(0.5, supported));
}

function figures(s: WindowSample, q: number): CheckFigures {
  return { requests: s.requests, errors: s.errors, errorRate: s.requests === 0 ? 0 : s.errors / s.requests, latencyMs: quantileOf(s.latencies, q) };
}

/** maxErrorRate: fails when the canary's rate is above the maximum and a binomial test shows it with `confidence`. */
function errorRate(c: CheckFigures, t: AnalysisThresholds, alpha: number): ErrorRateEvidence {
  const base = { rate: c.errorRate, max: t.maxErrorRate, minRequests: t.minRequests };
  if (c.requests < t.minRequests) return { ...base, verdict: 'no-data', upper: null, pValue: null };
  const upper = wilson(c.errors, c.requests, PASS_Z).upper;
  const pValue = binomialMidP(c.errors, c.requests, t.maxErrorRate);
  return { ...base, verdict: judged(c.errorRate > t.maxErrorRate, upper > t.maxErrorRate, pValue, alpha), upper, pValue };
}

/**
 * maxErrorRatio and minErrorIncrease: fails when the canary errs more than stable by both (the ratio over stable floored
 * at 1 %, the increase in points) and Fisher's exact test shows it with `confidence`.
 */
function errorComparison(c: CheckFigures, s: CheckFigures, t: AnalysisThresholds, alpha: number): ErrorComparisonEvidence {
  const base = { maxRatio: t.maxErrorRatio, minIncrease: t.minErrorIncrease, minRequests: t.minRequests };
  const none = { difference: null, ratio: null, pessimistic: null, pValue: null };
  const max = t.maxErrorRatio;
  if (max === null) return { ...base, ...none, verdict: 'off' };
  if (c.requests < t.minRequests || s.requests < t.minRequests) return { ...base, ...none, verdict: 'no-data' };
  const beyond = (canary: number, stable: number): boolean => canary / Math.max(stable, ERROR_RATE_FLOOR) > max && canary - stable > t.minErrorIncrease;
  const pessimistic = { canary: wilson(c.errors, c.requests, PASS_Z).upper, stable: wilson(s.errors, s.requests, PASS_Z).lower };
  const pValue = fisherMidP(c.errors, c.requests, s.errors, s.requests);
  return {
    ...base,
    verdict: judged(beyond(c.errorRate, s.errorRate), beyond(pessimistic.canary, pessimistic.stable), pValue, alpha),
    difference: c.errorRate - s.errorRate,
    ratio: c.errorRate / Math.max(s.errorRate, ERROR_RATE_FLOOR),
    pessimistic,
    pValue,
  };
}

/**
 * maxLatencyRatio and minLatencyIncrease at two points, the median and the compared quantile: at either, the canary is
 * slower by both and a one-sided test shows it at alpha / 2 (Bonferroni over the two points). The median is tested with
 * Mann–Whitney U over both samples (Kayenta's test: a slower bulk), the tail with Fisher's exact test on the share of
 * each side at or above the pooled quantile (a slower tail, which U hardly sees). So a slower bulk is not hidden by noise in
 * the tail (a busy machine's stalls hit both groups alike), nor a slower tail by the bulk. Every successful request is a
 * sample, so unlike error rates a point passes on its estimate.
 */
function latencyComparison(cs: Float64Array, ss: Float64Array, t: AnalysisThresholds, alpha: number): LatencyEvidence {
  const n = Math.min(cs.length, ss.length);
  const hasTail = t.latencyQuantile > 0.5;
  const pointAlpha = hasTail ? alpha / 2 : alpha;
  const base = { samples: { canary: cs.length, stable: ss.length }, minSamples: t.minRequests, maxRatio: t.maxLatencyRatio, minIncreaseMs: t.minLatencyIncreaseMs, alpha: pointAlpha };
  const point = (quantile: number, test: LatencyPoint['test']): LatencyPoint => ({
    verdict: 'no-data',
    quantile,
    canaryMs: quantileOf(cs, quantile),
    stableMs: quantileOf(ss, quantile),
    ratio: null,
    differenceMs: null,
    test,
    statistic: null,
    pValue: null,
  });
  const typical = point(Math.min(0.5, t.latencyQuantile), 'mann-whitney');
  const q = comparedQuantile(t.latencyQuantile, n);
  const tail = hasTail ? point(q, 'tail-share') : null;
  const max = t.maxLatencyRatio;
  if (max === null || n < t.minRequests) {
    const verdict = max === null ? 'off' : 'no-data';
    return { ...base, verdict, typical: { ...typical, verdict }, probabilitySlower: null, tail: tail && { ...tail, verdict } };
  }
  const judge = (p: LatencyPoint, statistic: number, pValue: number): LatencyPoint => {
    const r = p.canaryMs! / Math.max(p.stableMs!, LATENCY_FLOOR_MS);
    const differenceMs = p.canaryMs! - p.stableMs!;
    const beyond = r > max && differenceMs > t.minLatencyIncreaseMs;
    return { ...p, verdict: judged(beyond, beyond, pValue, pointAlpha), ratio: r, differenceMs, statistic, pValue };
  };
  const mw = mannWhitney(cs, ss);
  const judgedTypical = judge(typical, mw.u, mw.pValue);
  let judgedTail: LatencyPoint | null = null;
  if (tail !== null) {
    const cut = quantileOf(mergeSorted(cs, ss), q)!;
    // At or above: a tail of identical slow values sits on the cut itself.
    const above = countAtLeast(cs, cut);
    judgedTail = judge(tail, above, fisherMidP(above, cs.length, countAtLeast(ss, cut), ss.length));
  }
  const verdicts = [judgedTypical.verdict, judgedTail?.verdict];
  const verdict = verdicts.includes('fail') ? 'fail' : verdicts.includes('undecided') ? 'undecided' : 'pass';
  return { ...base, verdict, typical: judgedTypical, probabilitySlower: mw.probabilitySlower, tail: judgedTail };
}

function mergeSorted(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = a[i]! <= b[j]! ? a[i++]! : b[j++]!;
  while (i < a.length) out[k++] = a[i++]!;
  while (j < b.length) out[k++] = b[j++]!;
  return out;
}

/**
 * The judgement. A criterion fails only on evidence: enough samples (minRequests per side), an effect beyond both its
 * ratio and its absolute floor, and a one-sided test significant at 1 - confidence. A canary backend out of service
 * during the window, or any failed criterion, fails the check; a criterion without enough samples or evidence either
 * way makes it inconclusive (the window keeps growing); otherwise it passes. `canary.latencyMs` / `stable.latencyMs`
 * are taken at the compared quantile.
 */
export function analyse(
  canary: WindowSample,
  stable: WindowSample,
  t: AnalysisThresholds,
  windowMs: number,
  at: string,
  backendsOut: readonly BackendOut[] = [],
): RolloutCheck {
  const alpha = +(1 - t.confidence).toFixed(6);
  const latency = latencyComparison(canary.latencies, stable.latencies, t, alpha);
  const compared = latency.tail ?? latency.typical;
  const c = figures(canary, compared.quantile);
  const s = figures(stable, compared.quantile);
  const rate = errorRate(c, t, alpha);
  const errors = errorComparison(c, s, t, alpha);

  const failures: CheckFailureKind[] = [];
  const reasons: string[] = [];
  if (backendsOut.length > 0) {
    failures.push('backend-out');
    const list = backendsOut.map((b) => `${b.id} ${b.state} (${b.reason})`).join(', ');
    reasons.push(`canary backend${backendsOut.length > 1 ? 's' : ''} out of service: ${list}`);
  }
  if (rate.verdict === 'fail') {
    failures.push('error-rate');
    reasons.push(`canary error rate ${pct(rate.rate)} > ${pct(rate.max)} (${c.errors} of ${c.requests} requests, ${pText(rate.pValue!)})`);
  }
  if (errors.verdict === 'fail') {
    failures.push('error-ratio');
    reasons.push(
      `error ratio ${ratio(errors.ratio!)} > ${ratio(t.maxErrorRatio!)} (canary ${pct(c.errorRate)} of ${c.requests}, stable ${pct(s.errorRate)} of ${s.requests}, ` +
        `+${(errors.difference! * 100).toFixed(1)} points > ${(t.minErrorIncrease * 100).toFixed(1)}, ${pText(errors.pValue!)})`,
    );
  }
  if (latency.verdict === 'fail') {
    failures.push('latency-ratio');
    for (const p of [latency.typical, latency.tail]) if (p?.verdict === 'fail') reasons.push(latencyReason(p, latency, t));
  }

  const base = {
    at,
    windowMs,
    quantile: t.latencyQuantile,
    canary: c,
    stable: s,
    errorRatio: errors.ratio,
    latencyRatio: compared.ratio,
    alpha,
    errorRate: rate,
    errors,
    latency,
    backendsOut: [...backendsOut],
  };
  if (failures.length > 0) return { ...base, verdict: 'fail', failures, reason: reasons.join('; ') };
  const waiting = undecided(c, s, rate, errors, latency, t);
  if (waiting !== null) return { ...base, verdict: 'inconclusive', failures, reason: waiting };
  return { ...base, verdict: 'pass', failures, reason: null };
}

function latencyReason(p: LatencyPoint, l: LatencyEvidence, t: AnalysisThresholds): string {
  const lowered = p.test === 'tail-share' && p.quantile < t.latencyQuantile ? `; ${qName(t.latencyQuantile)} needs ${Math.round(TAIL_SAMPLES / (1 - t.latencyQuantile))} samples per side` : '';
  const test = p.test === 'mann-whitney' ? 'Mann-Whitney' : 'tail share';
  return (
    `${qName(p.quantile)} latency ratio ${ratio(p.ratio!)} > ${ratio(l.maxRatio!)} (canary ${ms(p.canaryMs!)}, stable ${ms(p.stableMs!)}, ` +
    `+${ms(p.differenceMs!)} > ${ms(l.minIncreaseMs)}, ${l.samples.canary} vs ${l.samples.stable} samples, ${test} ${pText(p.pValue!)}${lowered})`
  );
}

/** Why the evidence does not decide yet, or null when every criterion that is on passed. */
function undecided(c: CheckFigures, s: CheckFigures, rate: ErrorRateEvidence, errors: ErrorComparisonEvidence, latency: LatencyEvidence, t: AnalysisThresholds): string | null {
  if (c.requests < t.minRequests) return `${c.requests} canary requests, ${t.minRequests} needed`;
  const comparing = t.maxErrorRatio !== null || t.maxLatencyRatio !== null;
  if (comparing && s.requests < t.minRequests) return `${s.requests} stable requests, ${t.minRequests} needed as a baseline`;
  if (latency.verdict === 'no-data') {
    const { canary, stable } = latency.samples;
    const side = canary < t.minRequests ? `${canary} canary` : `${stable} stable`;
    return `${side} latency samples (successful requests), ${t.minRequests} needed`;
  }
  const open: string[] = [];
  if (rate.verdict === 'undecided') {
    open.push(`canary error rate ${pct(rate.rate)} (${c.errors} of ${c.requests}) could be above ${pct(rate.max)} (up to ${pct(rate.upper!)}), not shown (${pText(rate.pValue!)})`);
  }
  if (errors.verdict === 'undecided') {
    const e = errors.pessimistic!;
    open.push(
      `canary errors ${pct(c.errorRate)} of ${c.requests} against stable ${pct(s.errorRate)} of ${s.requests} could be a regression ` +
        `(up to ${pct(e.canary)} against ${pct(e.stable)}), not shown (${pText(errors.pValue!)})`,
    );
  }
  for (const p of [latency.typical, latency.tail]) {
    if (p?.verdict === 'undecided') {
      open.push(`${qName(p.quantile)} latency ratio ${ratio(p.ratio!)} > ${ratio(latency.maxRatio!)} (canary ${ms(p.canaryMs!)}, stable ${ms(p.stableMs!)}), not significant (${pText(p.pValue!)})`);
    }
  }
  if (open.length === 0) return null;
  return `undecided at ${+(t.confidence * 100).toFixed(2)}% confidence, waiting for more requests: ${open.join('; ')}`;
}

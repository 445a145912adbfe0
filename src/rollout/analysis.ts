// Canary versus stable over one window: a pure function from both sides' figures and the thresholds to a verdict.

import type { RolloutSpec } from '../config/types.js';
import type { CheckFailureKind, CheckFigures, RolloutCheck } from './types.js';

/** Stable error rate used as the denominator when stable has (almost) no errors, so 1 canary error is not "infinitely worse". */
export const ERROR_RATE_FLOOR = 0.01;
/** Stable latency floor in ms, so a near-zero stable quantile does not blow up the ratio. */
export const LATENCY_FLOOR_MS = 1;

export type AnalysisThresholds = Pick<RolloutSpec, 'minRequests' | 'maxErrorRate' | 'maxErrorRatio' | 'maxLatencyRatio' | 'latencyQuantile'>;

const pct = (r: number): string => `${(r * 100).toFixed(1)}%`;
const ratio = (r: number): string => `${r.toFixed(2)}x`;

/**
 * Order of judgement: too few canary requests -> inconclusive; canary error rate above maxErrorRate -> fail
 * (the controller rolls back at once); ratio checks configured but stable has fewer than minRequests -> inconclusive
 * (no baseline yet); then error ratio and latency ratio, each failing when strictly above its maximum.
 */
export function analyse(canary: CheckFigures, stable: CheckFigures, t: AnalysisThresholds, windowMs: number, at: string): RolloutCheck {
  const base = { at, windowMs, quantile: t.latencyQuantile, canary, stable };
  if (canary.requests < t.minRequests) {
    return { ...base, verdict: 'inconclusive', failures: [], reason: `${canary.requests} canary requests, ${t.minRequests} needed`, errorRatio: null, latencyRatio: null };
  }
  const failures: CheckFailureKind[] = [];
  const reasons: string[] = [];
  if (canary.errorRate > t.maxErrorRate) {
    failures.push('error-rate');
    reasons.push(`canary error rate ${pct(canary.errorRate)} > ${pct(t.maxErrorRate)}`);
  }
  const ratiosWanted = t.maxErrorRatio !== null || t.maxLatencyRatio !== null;
  if (ratiosWanted && stable.requests < t.minRequests) {
    if (failures.length > 0) return { ...base, verdict: 'fail', failures, reason: reasons.join('; '), errorRatio: null, latencyRatio: null };
    return { ...base, verdict: 'inconclusive', failures: [], reason: `${stable.requests} stable requests, ${t.minRequests} needed as a baseline`, errorRatio: null, latencyRatio: null };
  }
  let errorRatio: number | null = null;
  if (t.maxErrorRatio !== null) {
    errorRatio = canary.errorRate / Math.max(stable.errorRate, ERROR_RATE_FLOOR);
    if (errorRatio > t.maxErrorRatio) {
      failures.push('error-ratio');
      reasons.push(`error ratio ${ratio(errorRatio)} > ${ratio(t.maxErrorRatio)} (canary ${pct(canary.errorRate)}, stable ${pct(stable.errorRate)})`);
    }
  }
  let latencyRatio: number | null = null;
  if (t.maxLatencyRatio !== null && canary.latencyMs !== null && stable.latencyMs !== null) {
    latencyRatio = canary.latencyMs / Math.max(stable.latencyMs, LATENCY_FLOOR_MS);
    if (latencyRatio > t.maxLatencyRatio) {
      failures.push('latency-ratio');
      const q = `p${+(t.latencyQuantile * 100).toFixed(2)}`;
      reasons.push(`${q} latency ratio ${ratio(latencyRatio)} > ${ratio(t.maxLatencyRatio)} (canary ${canary.latencyMs.toFixed(1)} ms, stable ${stable.latencyMs.toFixed(1)} ms)`);
    }
  }
  if (failures.length > 0) return { ...base, verdict: 'fail', failures, reason: reasons.join('; '), errorRatio, latencyRatio };
  return { ...base, verdict: 'pass', failures, reason: null, errorRatio, latencyRatio };
}

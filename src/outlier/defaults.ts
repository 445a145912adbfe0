// Outlier detection defaults (Envoy's, with the deviations documented in README.md) and the merge of partial config onto them.
import type { FailureRateConfig, OutlierConfig } from './types.js';

export const OUTLIER_DEFAULTS: OutlierConfig = Object.freeze({
  consecutive5xx: 5,
  // Envoy's 5 would be redundant here: gateway errors also count for consecutive5xx (5), so the gateway detector
  // only adds something if it is quicker; a refused connection or reset is a strong sign the replica is gone.
  consecutiveGatewayErrors: 3,
  failureRate: null,
  baseEjectionTimeMs: 30_000,
  maxEjectionTimeMs: 300_000,
  maxEjectionPercent: 10,
  intervalMs: 10_000,
});

/** Used for the keys a `failureRate` block leaves out; the window also backs the recent counts in view(). */
export const FAILURE_RATE_DEFAULTS: FailureRateConfig = Object.freeze({
  threshold: 0.5,
  minRequests: 20,
  windowMs: 30_000,
});

export type OutlierConfigInput = Partial<Omit<OutlierConfig, 'failureRate'>> & {
  failureRate?: Partial<FailureRateConfig> | null;
};

/** Fill what `input` leaves out from the defaults; a failureRate block turns that detector on. */
export function withOutlierDefaults(input: OutlierConfigInput = {}): OutlierConfig {
  const { failureRate, ...rest } = input;
  return {
    ...OUTLIER_DEFAULTS,
    ...definedOnly(rest),
    failureRate: failureRate ? { ...FAILURE_RATE_DEFAULTS, ...definedOnly(failureRate) } : null,
  };
}

/** Problems with a config, as messages naming the key; empty when valid. */
export function outlierConfigProblems(c: OutlierConfig): string[] {
  const problems: string[] = [];
  const integer = (key: string, v: number): void => {
    if (!Number.isInteger(v) || v < 0) problems.push(`${key} must be a whole number >= 0 (got ${v})`);
  };
  const positive = (key: string, v: number): void => {
    if (!Number.isFinite(v) || v <= 0) problems.push(`${key} must be > 0 (got ${v})`);
  };
  integer('consecutive5xx', c.consecutive5xx);
  integer('consecutiveGatewayErrors', c.consecutiveGatewayErrors);
  positive('baseEjectionTime', c.baseEjectionTimeMs);
  positive('maxEjectionTime', c.maxEjectionTimeMs);
  positive('interval', c.intervalMs);
  if (!Number.isFinite(c.maxEjectionPercent) || c.maxEjectionPercent < 0 || c.maxEjectionPercent > 100) {
    problems.push(`maxEjectionPercent must be between 0 and 100 (got ${c.maxEjectionPercent})`);
  }
  if (c.failureRate) {
    const f = c.failureRate;
    if (!(f.threshold > 0 && f.threshold <= 1)) problems.push(`failureRate.threshold must be in (0, 1] (got ${f.threshold})`);
    integer('failureRate.minRequests', f.minRequests);
    if (!Number.isFinite(f.windowMs) || f.windowMs < 10) problems.push(`failureRate.window must be >= 10ms (got ${f.windowMs})`);
  }
  return problems;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

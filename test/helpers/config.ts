// Module configs for unit tests, built on the defaults the app uses (src/config/defaults.ts, derived from the schema).
import { FAILURE_RATE_DEFAULTS, OUTLIER_DEFAULTS, ROLLOUT_DEFAULTS } from '../../src/config/defaults.js';
import type { FailureRateSpec, OutlierSpec, RolloutSpec } from '../../src/config/types.js';

export type OutlierInput = Partial<Omit<OutlierSpec, 'failureRate'>> & { failureRate?: Partial<FailureRateSpec> | null };

/** `outlier:` with these keys set; a failureRate block, even `{}`, turns that detector on with its other keys defaulted. */
export function outlierConfig(input: OutlierInput = {}): OutlierSpec {
  const { failureRate, ...rest } = input;
  return { ...OUTLIER_DEFAULTS, ...rest, failureRate: failureRate ? { ...FAILURE_RATE_DEFAULTS, ...failureRate } : null };
}

/** `rollout:` with these keys set. */
export function rolloutConfig(input: Partial<RolloutSpec> = {}): RolloutSpec {
  return { ...ROLLOUT_DEFAULTS, ...input, steps: [...(input.steps ?? ROLLOUT_DEFAULTS.steps)] };
}

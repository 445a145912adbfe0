// Normalised defaults that code outside config/ needs, derived from schema.ts, the one place a default is written.

import { load, outlier, probeSpec, rollout } from './normalise.js';
import { livenessProbeSchema, outlierSchema, poolSchema, rolloutSchema, startupProbeSchema } from './schema.js';
import type { FailureRateSpec, LoadConfig, OutlierSpec, ProbeSpec, RolloutSpec } from './types.js';

/** `outlier: {}`, i.e. a pool that writes nothing: failure rate off. */
export const OUTLIER_DEFAULTS: Readonly<OutlierSpec> = Object.freeze(outlier(outlierSchema.parse({}))!);

/** `failureRate: {}`; its window also backs the detector's recent counts when that detector is off. */
export const FAILURE_RATE_DEFAULTS: Readonly<FailureRateSpec> = Object.freeze(outlier(outlierSchema.parse({ failureRate: {} }))!.failureRate!);

/** `rollout: {}`. */
export const ROLLOUT_DEFAULTS: Readonly<RolloutSpec> = Object.freeze(rollout(rolloutSchema.parse({}))!);

/** Timing of a startup or liveness probe the operator did not write at all (the preset supplies path and checks). */
export const IMPLICIT_PROBES: Readonly<Record<'startup' | 'liveness', ProbeSpec>> = Object.freeze({
  startup: probeSpec(startupProbeSchema.parse({})),
  liveness: probeSpec(livenessProbeSchema.parse({})),
});

/** A load-aware pool that writes no `load:` block: its picker weights and limits. */
export const LOAD_AWARE_DEFAULTS: Readonly<LoadConfig['picker']> = Object.freeze(load(poolSchema.parse({ balance: 'load-aware' })).picker);

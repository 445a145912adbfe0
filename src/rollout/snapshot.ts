// A rollout's state as plain JSON and back: validation of a stored snapshot, and fitting it to the (possibly reloaded) config.

import * as z from 'zod';
import type { RolloutSpec } from '../config/types.js';
import type { RolloutSnapshot, RolloutState } from './types.js';

const stateName = z.enum(['pending', 'progressing', 'paused', 'promoted', 'rolled-back']);
const weight = z.number().min(0).max(100);
const step = z.number().int().min(-1);

const stateSchema = z.discriminatedUnion('name', [
  z.object({ name: z.literal('pending'), awaitingStart: z.boolean() }),
  z.object({ name: z.literal('progressing'), step, weight, failedChecks: z.number().int().min(0) }),
  z.object({ name: z.literal('paused'), step, weight, failedChecks: z.number().int().min(0), reason: z.string() }),
  z.object({ name: z.literal('promoted'), reason: z.string() }),
  z.object({ name: z.literal('rolled-back'), step, reason: z.string() }),
]);

const figures = z.object({
  requests: z.number().min(0),
  errors: z.number().min(0),
  errorRate: z.number().min(0).max(1),
  latencyMs: z.number().nullable(),
});

const pValue = z.number().min(0).max(1).nullable();
const criterion = z.enum(['pass', 'fail', 'undecided', 'no-data', 'off']);

const latencyPoint = z.object({
  verdict: criterion,
  quantile: z.number(),
  canaryMs: z.number().nullable(),
  stableMs: z.number().nullable(),
  ratio: z.number().nullable(),
  differenceMs: z.number().nullable(),
  test: z.enum(['mann-whitney', 'tail-share']),
  statistic: z.number().nullable(),
  pValue,
});

const checkSchema = z.object({
  at: z.string(),
  verdict: z.enum(['pass', 'fail', 'inconclusive']),
  failures: z.array(z.enum(['error-rate', 'error-ratio', 'latency-ratio', 'backend-out'])),
  reason: z.string().nullable(),
  windowMs: z.number().min(0),
  quantile: z.number(),
  canary: figures,
  stable: figures,
  errorRatio: z.number().nullable(),
  latencyRatio: z.number().nullable(),
  alpha: z.number().min(0).max(1),
  errorRate: z.object({ verdict: criterion, rate: z.number(), max: z.number(), upper: z.number().nullable(), pValue, minRequests: z.number() }),
  errors: z.object({
    verdict: criterion,
    difference: z.number().nullable(),
    ratio: z.number().nullable(),
    pessimistic: z.object({ canary: z.number(), stable: z.number() }).nullable(),
    pValue,
    maxRatio: z.number().nullable(),
    minIncrease: z.number(),
    minRequests: z.number(),
  }),
  latency: z.object({
    verdict: criterion,
    samples: z.object({ canary: z.number(), stable: z.number() }),
    minSamples: z.number(),
    maxRatio: z.number().nullable(),
    minIncreaseMs: z.number(),
    alpha: z.number(),
    typical: latencyPoint,
    probabilitySlower: z.number().nullable(),
    tail: latencyPoint.nullable(),
  }),
  backendsOut: z.array(
    z.object({
      id: z.string(),
      state: z.enum(['LOADING', 'WARMING', 'READY', 'UNREADY', 'EJECTED', 'MISMATCH', 'DRAINING']),
      reason: z.string(),
      since: z.string(),
    }),
  ),
});

/** A check written by an older version (without its evidence) reads back as null: the state matters, old details do not. */
const storedCheck = checkSchema.nullable().catch(null);

const historySchema = z.object({
  at: z.string(),
  from: stateName,
  to: stateName,
  weight,
  step,
  reason: z.string(),
  check: storedCheck,
});

const snapshotSchema = z.object({
  version: z.literal(1),
  pool: z.string(),
  group: z.string(),
  state: stateSchema,
  lastCheck: storedCheck,
  history: z.array(historySchema),
});

/** Validates JSON read back from a state file; throws a TypeError saying what is wrong. */
export function snapshotFromJSON(value: unknown): RolloutSnapshot {
  const r = snapshotSchema.safeParse(value);
  if (!r.success) throw new TypeError(`invalid rollout snapshot: ${z.prettifyError(r.error)}`);
  return r.data;
}

/** Index of the last step at or below weight w; -1 when w is below the first step. */
export function stepFor(steps: readonly number[], w: number): number {
  let i = -1;
  while (i + 1 < steps.length && (steps[i + 1] ?? Infinity) <= w) i++;
  return i;
}

/**
 * The restored state under the current config. Weights are what was live, so they are kept and the step
 * index is re-derived from them (steps may have changed across a reload). A pending rollout has not started,
 * so it starts over from the current config's `start` mode.
 */
export function restoreState(s: RolloutSnapshot, config: RolloutSpec): RolloutState {
  const st = s.state;
  switch (st.name) {
    case 'pending':
      return { name: 'pending', awaitingStart: config.start === 'manual' };
    case 'progressing':
    case 'paused':
      return { ...st, step: stepFor(config.steps, st.weight) };
    case 'rolled-back':
      return { ...st, step: Math.min(st.step, config.steps.length - 1) };
    case 'promoted':
      return st;
    default: {
      const never: never = st;
      return never;
    }
  }
}

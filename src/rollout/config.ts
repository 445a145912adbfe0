// Rollout defaults and the check that a rollout config makes sense (the lead's config normaliser can reuse both).

import type { RolloutConfig } from './types.js';

/** Defaults; see src/rollout/README.md for why each value and its Flagger equivalent. */
export const DEFAULT_ROLLOUT_CONFIG: Readonly<RolloutConfig> = Object.freeze({
  steps: [10, 25, 50, 100],
  intervalMs: 60_000,
  minRequests: 50,
  maxErrorRate: 0.05,
  maxErrorRatio: 2,
  maxLatencyRatio: 1.5,
  latencyQuantile: 0.99,
  failureThreshold: 2,
  start: 'auto',
});

/** Problems with a rollout config, as readable messages naming the key; empty when valid. */
export function rolloutConfigIssues(c: RolloutConfig): string[] {
  const issues: string[] = [];
  if (c.steps.length === 0) issues.push('steps: at least one step is needed');
  c.steps.forEach((s, i) => {
    if (!Number.isFinite(s) || s <= 0 || s > 100) issues.push(`steps[${i}]: ${s} is not a weight in (0, 100]`);
    const prev = c.steps[i - 1];
    if (prev !== undefined && s <= prev) issues.push(`steps[${i}]: ${s} must be greater than the step before (${prev})`);
  });
  if (!(c.intervalMs > 0)) issues.push('interval: must be greater than 0');
  if (!Number.isInteger(c.minRequests) || c.minRequests < 1) issues.push('minRequests: must be an integer >= 1');
  if (!(c.maxErrorRate >= 0 && c.maxErrorRate <= 1)) issues.push('maxErrorRate: must be within 0..1');
  if (c.maxErrorRatio !== null && !(c.maxErrorRatio >= 1)) issues.push('maxErrorRatio: must be >= 1 (or null to turn it off)');
  if (c.maxLatencyRatio !== null && !(c.maxLatencyRatio >= 1)) issues.push('maxLatencyRatio: must be >= 1 (or null to turn it off)');
  if (!(c.latencyQuantile > 0 && c.latencyQuantile <= 1)) issues.push('latencyQuantile: must be within (0, 1]');
  if (!Number.isInteger(c.failureThreshold) || c.failureThreshold < 1) issues.push('failureThreshold: must be an integer >= 1');
  if (c.start !== 'auto' && c.start !== 'manual') issues.push('start: must be auto or manual');
  return issues;
}

/** Fills defaults and validates; throws a RangeError listing every problem. */
export function rolloutConfig(partial: Partial<RolloutConfig> = {}): RolloutConfig {
  // Keys given as undefined keep their default (a spread alone would overwrite it).
  const given = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined)) as Partial<RolloutConfig>;
  const c: RolloutConfig = { ...DEFAULT_ROLLOUT_CONFIG, ...given, steps: [...(given.steps ?? DEFAULT_ROLLOUT_CONFIG.steps)] };
  const issues = rolloutConfigIssues(c);
  if (issues.length > 0) throw new RangeError(`invalid rollout config: ${issues.join('; ')}`);
  return c;
}

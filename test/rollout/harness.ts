// Test harness for the rollout controller: a manual clock, recorded changes, and simulated traffic split by the current weights.
import { RolloutController, type RolloutControllerOptions } from '../../src/rollout/controller.js';
import type { RolloutSpec } from '../../src/config/types.js';
import type { RolloutChange, RolloutCheck, RolloutSnapshot } from '../../src/rollout/types.js';
import { rolloutConfig } from '../helpers/config.js';
import { ManualClock, seededRandom } from '../helpers/manual-clock.js';

/** How one simulated request of a group ends: [ok, latencyMs]; i counts that group's requests. */
export type Outcome = (i: number, random: () => number) => [boolean, number];

export const healthy = (latencyMs = 20): Outcome => (_i, r) => [true, latencyMs * (0.8 + 0.4 * r())];
export const failing = (errorRate: number, latencyMs = 20): Outcome => (_i, r) => [r() >= errorRate, latencyMs * (0.8 + 0.4 * r())];

export interface Harness {
  clock: ManualClock;
  ctl: RolloutController;
  config: RolloutSpec;
  changes: RolloutChange[];
  checks: RolloutCheck[];
  /** n requests, each sent to canary with probability canaryWeight/100 (stable split over 'stable' and 'stable-b'). */
  send(n: number, canary: Outcome, stable?: Outcome): void;
  /** For each of k intervals: send n requests, then let one interval pass. */
  intervals(k: number, n: number, canary: Outcome, stable?: Outcome): void;
}

export function harness(partial: Partial<RolloutSpec> = {}, opts: { restored?: RolloutSnapshot; seed?: number; clock?: ManualClock; shared?: Pick<RolloutControllerOptions, 'leading' | 'epoch' | 'reports' | 'onRestate'>; carry?: RolloutControllerOptions['carry'] } = {}): Harness {
  const clock = opts.clock ?? new ManualClock();
  const random = seededRandom(opts.seed ?? 42);
  const traffic = seededRandom((opts.seed ?? 42) + 1);
  const config = rolloutConfig({ intervalMs: 30_000, minRequests: 50, ...partial });
  const changes: RolloutChange[] = [];
  const checks: RolloutCheck[] = [];
  const ctl = new RolloutController({
    pool: 'mlp',
    canary: 'canary',
    stable: ['stable', 'stable-b'],
    config,
    clock,
    random,
    onChange: (c) => changes.push(c),
    onCheck: (c) => checks.push(c),
    ...(opts.restored ? { restored: opts.restored } : {}),
    ...opts.shared,
    ...(opts.carry === undefined ? {} : { carry: opts.carry }),
  });
  let canaryCount = 0;
  let stableCount = 0;
  const send = (n: number, canary: Outcome, stable: Outcome = healthy()): void => {
    for (let k = 0; k < n; k++) {
      if (traffic() * 100 < ctl.weights().canary) {
        const [ok, ms] = canary(canaryCount++, traffic);
        ctl.record('canary', ok, ms);
      } else {
        const [ok, ms] = stable(stableCount++, traffic);
        ctl.record(k % 2 === 0 ? 'stable' : 'stable-b', ok, ms);
      }
    }
  };
  const intervals = (k: number, n: number, canary: Outcome, stable?: Outcome): void => {
    for (let i = 0; i < k; i++) {
      send(n, canary, stable);
      clock.advance(config.intervalMs);
    }
  };
  return { clock, ctl, config, changes, checks, send, intervals };
}

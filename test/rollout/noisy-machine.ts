// A simulated rollout on a noisy, CPU-starved machine: Poisson traffic at a modest rate, heavy-tailed model latencies,
// machine-wide stalls that delay every request in flight, and the real RolloutController on the manual clock.
import type { RolloutSpec } from '../../src/config/types.js';
import { RolloutController } from '../../src/rollout/controller.js';
import type { RolloutCheck, RolloutStateName } from '../../src/rollout/types.js';
import { rolloutConfig } from '../helpers/config.js';
import { ManualClock, seededRandom } from '../helpers/manual-clock.js';

export interface Canary {
  /** Multiplies the model's own latency (not the machine's stalls): 1.5 = +50 %. */
  latencyFactor: number;
  /** Share of canary requests that fail (stable fails STABLE_ERROR_RATE). */
  errorRate: number;
}

export const STABLE_ERROR_RATE = 0.005;
export const HEALTHY: Canary = { latencyFactor: 1, errorRate: STABLE_ERROR_RATE };

export interface Outcome {
  state: RolloutStateName;
  checks: RolloutCheck[];
  /** Simulated time until the rollout ended (or the bound). */
  elapsedMs: number;
  requestsPerSecond: number;
}

/** Standard normal (Box–Muller) from a uniform source. */
function normal(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

/**
 * The model's own time for one request: lognormal around 20 ms (σ 0.35), and 3 % of requests a Pareto (α 1.2: finite
 * mean, infinite variance) multiple of it — GC pauses, cache misses, a long input.
 */
function modelMs(r: () => number): number {
  const body = 20 * Math.exp(0.35 * normal(r));
  return r() < 0.03 ? body * (1 - r()) ** (-1 / 1.2) : body;
}

/**
 * Drives one rollout to its end (or `maxMs` of simulated time): requests arrive as a Poisson process at a rate drawn for
 * the run (4-12 req/s), go to the canary with its current weight, and take the model's time (scaled for the canary) plus
 * any machine stall they run into. Stalls start at random (every 3 s on average), last an exponential 200 ms on
 * average, and delay every request that arrives during one until it ends — both groups alike.
 */
export function simulate(seed: number, canary: Canary, config: Partial<RolloutSpec> = {}, maxMs = 60 * 60_000): Outcome {
  const clock = new ManualClock();
  const r = seededRandom(seed * 7_919 + 13);
  const checks: RolloutCheck[] = [];
  const ctl = new RolloutController({
    pool: 'mlp',
    canary: 'canary',
    stable: ['stable'],
    config: rolloutConfig(config),
    clock,
    random: seededRandom(seed),
    onChange: () => {},
    onCheck: (c) => checks.push(c),
  });
  const rps = 4 + 8 * r();
  const exp = (meanMs: number): number => -Math.log(1 - r()) * meanMs;
  let stallStart = exp(3_000);
  let stallEnd = stallStart + exp(200);
  ctl.canaryReady(true);
  while (clock.now() < maxMs) {
    const s = ctl.state.name;
    if (s === 'promoted' || s === 'rolled-back') break;
    clock.advance(exp(1_000 / rps));
    const now = clock.now();
    while (now >= stallEnd) {
      stallStart = stallEnd + exp(3_000);
      stallEnd = stallStart + exp(200);
    }
    const stall = now >= stallStart ? stallEnd - now : 0;
    const toCanary = r() * 100 < ctl.weights().canary;
    const c = toCanary ? canary : HEALTHY;
    const ok = r() >= (toCanary ? canary.errorRate : STABLE_ERROR_RATE);
    ctl.record(toCanary ? 'canary' : 'stable', ok, modelMs(r) * c.latencyFactor + stall);
  }
  ctl.stop();
  return { state: ctl.state.name, checks, elapsedMs: clock.now(), requestsPerSecond: rps };
}

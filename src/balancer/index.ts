// Builds the balancer a pool asks for by name, and re-exports the algorithms and their interface.
import { LOAD_AWARE_DEFAULTS } from '../config/defaults.js';
import type { BalanceAlgorithm } from '../config/types.js';
import type { Balancer, BalancerDeps, Candidate } from './balancer.js';
import { LeastRequestBalancer } from './least-request.js';
import { LoadAwareBalancer, type LoadAwareOptions } from './load-aware.js';
import { RandomBalancer } from './random.js';
import { RoundRobinBalancer } from './round-robin.js';

export type { Balancer, BalancerDeps, Candidate } from './balancer.js';
export { LeastRequestBalancer } from './least-request.js';
export { LoadAwareBalancer, scoreCandidates } from './load-aware.js';
export type { LoadAwareOptions, LoadAwareWeights } from './load-aware.js';
export { RandomBalancer } from './random.js';
export { RoundRobinBalancer } from './round-robin.js';
export { PeakEwma } from './ewma.js';
export type { PeakEwmaOptions } from './ewma.js';

/**
 * One balancer per pool: round robin keeps per-backend state, so do not share one between pools. `loadAware`: the
 * pool's load.weights and load.scoreAllUpTo (config/defaults.ts has the defaults).
 */
export function createBalancer<T extends Candidate = Candidate>(
  algorithm: BalanceAlgorithm,
  deps: BalancerDeps,
  loadAware: LoadAwareOptions = LOAD_AWARE_DEFAULTS,
): Balancer<T> {
  switch (algorithm) {
    case 'round-robin':
      return new RoundRobinBalancer<T>();
    case 'random':
      return new RandomBalancer<T>(deps);
    case 'least-request':
      return new LeastRequestBalancer<T>(deps);
    case 'load-aware':
      return new LoadAwareBalancer<T>(deps, loadAware);
    default: {
      const unknown: never = algorithm;
      throw new Error(`unknown balance algorithm: ${String(unknown)}`);
    }
  }
}

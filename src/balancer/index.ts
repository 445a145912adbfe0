// Builds the balancer a pool asks for by name, and re-exports the algorithms and their interface.
import type { BalanceAlgorithm } from '../config/types.js';
import type { Balancer, BalancerDeps, Candidate } from './balancer.js';
import { LeastRequestBalancer } from './least-request.js';
import { RandomBalancer } from './random.js';
import { RoundRobinBalancer } from './round-robin.js';

export type { Balancer, BalancerDeps, Candidate } from './balancer.js';
export { LeastRequestBalancer } from './least-request.js';
export { RandomBalancer } from './random.js';
export { RoundRobinBalancer } from './round-robin.js';
export { PeakEwma } from './ewma.js';
export type { PeakEwmaOptions } from './ewma.js';

/** One balancer per pool: round robin keeps per-backend state, so do not share one between pools. */
export function createBalancer<T extends Candidate = Candidate>(
  algorithm: BalanceAlgorithm,
  deps: BalancerDeps,
): Balancer<T> {
  switch (algorithm) {
    case 'round-robin':
      return new RoundRobinBalancer<T>();
    case 'random':
      return new RandomBalancer<T>(deps);
    case 'least-request':
      return new LeastRequestBalancer<T>(deps);
    default: {
      const unknown: never = algorithm;
      throw new Error(`unknown balance algorithm: ${String(unknown)}`);
    }
  }
}

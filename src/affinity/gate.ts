// The imbalance gate: affinity may prefer a busier backend, but never by much. As SGLang's cache-aware router
// (sgl-project/sglang, sgl-router/src/policies/cache_aware.rs: imbalanced when max - min > abs and max > rel x min),
// the preferred backend is given up only when it passes the least loaded one by BOTH margins: the absolute one alone
// would refuse affinity between two large servers at 100 and 109 running; the relative one alone, between 1 and 2.
import type { Candidate } from '../balancer/balancer.js';

export interface ImbalanceLimits {
  readonly absolute: number;
  readonly relative: number;
}

/** True when `preferred` is too far above `least` for affinity to be followed. */
export function tooImbalanced(preferred: number, least: number, limits: ImbalanceLimits): boolean {
  return preferred - least > limits.absolute && preferred > least * limits.relative;
}

/**
 * A backend's load in requests: the larger of infergate's own in flight (exact, now, but only this process's) and what
 * the server last said it runs and holds waiting (every client's, but as old as the last scrape).
 */
export function loadOf(c: Candidate): number {
  const s = c.serverLoad?.();
  if (s === undefined) return c.inflight;
  return Math.max(c.inflight, (s.running ?? 0) + (s.queued ?? 0));
}

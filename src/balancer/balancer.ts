// The one interface every balancing algorithm implements; health filtering stays with the caller.
import type { ServerLoad } from '../signals/types.js';

/** What an algorithm may know about a backend: nothing of HTTP, health or config. */
export interface Candidate {
  readonly id: string;
  /** Current weight, already scaled by slow start; 0 means "do not pick". */
  effectiveWeight(): number;
  /** Requests in flight on this backend right now. */
  readonly inflight: number;
  /** Peak-EWMA latency score in ms (0 when unknown). */
  latencyScore(): number;
  /** What the server last said about its load (signals/), or undefined when unknown or stale. */
  serverLoad?(): ServerLoad | undefined;
}

export interface Balancer<T extends Candidate = Candidate> {
  /**
   * Pick one backend among `backends` for which `eligible` is true, or undefined when none is.
   * `eligible` is how the caller expresses readiness, exclusions of earlier attempts, and so on.
   */
  pick(backends: readonly T[], eligible: (backend: T) => boolean): T | undefined;
}

export interface BalancerDeps {
  /** Uniform [0, 1), injected for deterministic tests. */
  random: () => number;
}

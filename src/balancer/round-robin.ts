// Smooth weighted round robin, step for step as nginx's ngx_http_upstream_get_peer.
import type { Balancer, Candidate } from './balancer.js';

interface PeerState {
  current: number;
  /** Number of the last pick whose backend list held this peer; a gap means it left and came back. */
  seenAt: number;
}

export class RoundRobinBalancer<T extends Candidate = Candidate> implements Balancer<T> {
  // Keyed by the backend object, so a new array holding some of the same objects keeps their state,
  // and state for backends dropped for good goes with them.
  #state = new WeakMap<T, PeerState>();
  #picks = 0;

  pick(backends: readonly T[], eligible: (backend: T) => boolean): T | undefined {
    const pickNo = ++this.#picks;
    let best: T | undefined;
    let bestState: PeerState | undefined;
    let total = 0;
    for (const backend of backends) {
      let state = this.#state.get(backend);
      if (state === undefined) {
        state = { current: 0, seenAt: pickNo };
        this.#state.set(backend, state);
      } else if (state.seenAt < pickNo - 1) {
        // Absent from the previous pick: start afresh, as nginx does for a reconfigured peer.
        state.current = 0;
      }
      state.seenAt = pickNo;
      const weight = backend.effectiveWeight();
      if (!(weight > 0) || !eligible(backend)) continue;
      state.current += weight;
      total += weight;
      // Strictly greater: ties go to the earlier backend, as in nginx.
      if (bestState === undefined || state.current > bestState.current) {
        best = backend;
        bestState = state;
      }
    }
    if (bestState !== undefined) bestState.current -= total;
    return best;
  }
}

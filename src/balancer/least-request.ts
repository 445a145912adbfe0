// Least request by power of two choices: two random eligible backends, the less loaded for its weight wins.
import type { Balancer, BalancerDeps, Candidate } from './balancer.js';

export class LeastRequestBalancer<T extends Candidate = Candidate> implements Balancer<T> {
  readonly #random: () => number;
  // Reused between picks so that a pick allocates nothing; emptied after each pick.
  readonly #eligible: T[] = [];
  readonly #weights: number[] = [];

  constructor(deps: BalancerDeps) {
    this.#random = deps.random;
  }

  pick(backends: readonly T[], eligible: (backend: T) => boolean): T | undefined {
    const candidates = this.#eligible;
    const weights = this.#weights;
    for (const backend of backends) {
      const weight = backend.effectiveWeight();
      if (!(weight > 0) || !eligible(backend)) continue;
      candidates.push(backend);
      weights.push(weight);
    }
    const n = candidates.length;
    let chosen: T | undefined;
    if (n === 1) {
      chosen = candidates[0];
    } else if (n > 1) {
      const i = Math.min(Math.floor(this.#random() * n), n - 1);
      let j = Math.min(Math.floor(this.#random() * (n - 1)), n - 2);
      if (j >= i) j++; // two distinct candidates, each pair equally likely
      chosen = this.#better(candidates[i]!, weights[i]!, candidates[j]!, weights[j]!);
    }
    candidates.length = 0;
    weights.length = 0;
    return chosen;
  }

  /** Lower (inflight + 1) / weight wins; on a tie the lower latency score; on a full tie the first drawn. */
  #better(a: T, weightA: number, b: T, weightB: number): T {
    // Cross-multiplied so equal loads compare equal without division rounding.
    const loadA = (a.inflight + 1) * weightB;
    const loadB = (b.inflight + 1) * weightA;
    if (loadA !== loadB) return loadA < loadB ? a : b;
    return b.latencyScore() < a.latencyScore() ? b : a;
  }
}

// Weighted random choice with an injected random source.
import type { Balancer, BalancerDeps, Candidate } from './balancer.js';

export class RandomBalancer<T extends Candidate = Candidate> implements Balancer<T> {
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
    let total = 0;
    for (const backend of backends) {
      const weight = backend.effectiveWeight();
      if (!(weight > 0) || !eligible(backend)) continue;
      candidates.push(backend);
      weights.push(weight);
      total += weight;
    }
    let chosen: T | undefined;
    if (candidates.length > 0) {
      let r = this.#random() * total;
      const last = candidates.length - 1;
      // Floating-point rounding can leave r just above the last bound; the last candidate takes it.
      for (let i = 0; i <= last; i++) {
        r -= weights[i]!;
        if (r < 0 || i === last) {
          chosen = candidates[i];
          break;
        }
      }
    }
    candidates.length = 0;
    weights.length = 0;
    return chosen;
  }
}

// Least request: power of two choices over in-flight requests when weights are equal; when they differ
// (weights, slow start), weighted round robin over weight / (in-flight + 1), as Envoy does.
//
// Why two modes: P2C compares (in-flight + 1) / weight only between two random backends, so at low load
// the heavier one always wins and a backend in slow start (small effective weight) gets nothing until its
// window ends. Envoy's answer (LeastRequestLoadBalancer, active_request_bias = 1) keeps weights exact at
// idle and under load when weight means capacity, and lets slow start ramp for real. The measurements are
// in test/balancer/least-request.test.ts.
//
// Why the latency tie-break is a weighted coin and not "lower wins": at low concurrency every backend has
// 0 in flight, so the tie-break decides every pick. With "lower wins" the order of three near-equal scores
// alone fixed the shares at 2/3, 1/3 and 0, and the backend left out got no sample that could lower its
// score (585 / 5 / 319 of 1000 in issue 8). Chosen in proportion to speed (1 / score), equal backends
// share evenly, a backend 3x slower still gets less, and none is starved. Measured in
// test/balancer/least-request-latency.test.ts.
import type { Balancer, BalancerDeps, Candidate } from './balancer.js';

export class LeastRequestBalancer<T extends Candidate = Candidate> implements Balancer<T> {
  readonly #random: () => number;
  // Reused between picks so that a pick allocates nothing; emptied after each pick.
  readonly #eligible: T[] = [];
  readonly #weights: number[] = [];
  /** Smooth weighted round robin state of the unequal-weights mode, per backend object. */
  readonly #current = new WeakMap<T, number>();

  constructor(deps: BalancerDeps) {
    this.#random = deps.random;
  }

  pick(backends: readonly T[], eligible: (backend: T) => boolean): T | undefined {
    const candidates = this.#eligible;
    const weights = this.#weights;
    let equal = true;
    for (const backend of backends) {
      const weight = backend.effectiveWeight();
      if (!(weight > 0) || !eligible(backend)) continue;
      if (weights.length > 0 && weight !== weights[0]) equal = false;
      candidates.push(backend);
      weights.push(weight);
    }
    const n = candidates.length;
    let chosen: T | undefined;
    if (n === 1) {
      chosen = candidates[0];
    } else if (n > 1 && equal) {
      const i = Math.min(Math.floor(this.#random() * n), n - 1);
      let j = Math.min(Math.floor(this.#random() * (n - 1)), n - 2);
      if (j >= i) j++; // two distinct candidates, each pair equally likely
      chosen = this.#better(candidates[i]!, candidates[j]!);
    } else if (n > 1) {
      chosen = this.#weightedByLoad(candidates, weights);
    }
    candidates.length = 0;
    weights.length = 0;
    return chosen;
  }

  /**
   * Fewer in flight wins. On a tie, each wins with a chance in proportion to its speed, 1 / latency score:
   * a at 20 ms against b at 60 ms wins 3 times in 4. An unknown score (0) always wins against a known one;
   * equal scores keep the first drawn, which is random already.
   */
  #better(a: T, b: T): T {
    if (a.inflight !== b.inflight) return a.inflight < b.inflight ? a : b;
    const sa = a.latencyScore();
    const sb = b.latencyScore();
    if (!(sa < sb) && !(sb < sa)) return a; // equal, or NaN from a broken score: no preference
    if (sa === 0 || sb === 0) return sa === 0 ? a : b; // certain: no draw
    // P(a) = sb / (sa + sb), written so that an Infinity score gives 0 or 1, never NaN.
    return this.#random() * (1 + sa / sb) < 1 ? a : b;
  }

  /** nginx's smooth weighted round robin over dynamic weights weight / (in-flight + 1). */
  #weightedByLoad(candidates: T[], weights: number[]): T {
    let total = 0;
    let best = 0;
    let bestCurrent = -Infinity;
    for (let i = 0; i < candidates.length; i++) {
      const c = candidates[i]!;
      const dynamic = weights[i]! / (c.inflight + 1);
      const current = (this.#current.get(c) ?? 0) + dynamic;
      this.#current.set(c, current);
      total += dynamic;
      if (current > bestCurrent) {
        bestCurrent = current;
        best = i;
      }
    }
    const chosen = candidates[best]!;
    this.#current.set(chosen, bestCurrent - total);
    return chosen;
  }
}

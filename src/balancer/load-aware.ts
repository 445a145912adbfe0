// Load aware: every eligible backend of a small pool is scored by what a new request should expect there — its latency
// estimate times the requests ahead of it (in flight + 1), made worse by what the server itself says: a queue of its own
// and a full KV cache — and the best is favoured. Large pools (more than `scoreAllUpTo` eligible backends) compare two
// random ones with the same score (P2C), which is as good in expectation and costs two scores, not hundreds.
//
// The cost of a backend (lower is better) has two factors:
//   latency^wLatency                                                        (peak EWMA, ms)
//   x (inflight + 1)^wInflight x (1 + wQueue x queue / maxQueue + wKv x kvUse)   (the load factor)
// An unknown latency (0) counts as the mean of the known ones: a fresh backend is neither flooded nor starved.
// queue / maxQueue is the server's waiting requests normalised 0-1 over the candidates, as the Gateway API Inference
// Extension's queue scorer does; kvUse is 0-1 as the server reports it. A server signal older than the pool's staleness
// limit is absent (serverLoad() answers undefined) and adds nothing: in-flight and latency rule. The Inference
// Extension's weights are the defaults (queue 2, KV 2); in-flight and latency 1 make the cost "expected latency x
// (in-flight + 1)" on a server that says nothing.
//
// Why the best is favoured by a sharpened draw and not taken by argmin: with argmin, equal backends at idle are decided
// by noise in their latency scores, and the loser gets no sample that could correct its score (issue 8: shares 585 / 5
// / 319 of 1000); and weights could not be honoured at idle, where every cost is equal. So a backend is drawn with
// probability in proportion to weight x (best latency / latency)^2 x (best load / load)^8. Equal backends share by
// weight exactly (slow start ramps, 3:1 stays 3:1). Load counts sharply — in-flight counts are exact: one more in flight
// (2 in flight against 1: load 3 against 2) is drawn 1/26 as often, a full KV cache (x3) 1/6561 — latency mildly, because a peak-EWMA score
// jumps on one slow sample: a replica 3x slower is drawn 1/9 as often at equal load, so it keeps getting samples. In a
// closed loop the draw settles where load per unit of weight is equal, so shares follow capacity, as least-request's do
// (test/balancer/conformance.ts). The exponents were chosen on the simulations in test/balancer/load-aware.test.ts.
import type { ServerLoad } from '../signals/types.js';
import type { Balancer, BalancerDeps, Candidate } from './balancer.js';

export interface LoadAwareWeights {
  /** Weight of the server's queue, normalised 0-1 over the candidates. */
  readonly queue: number;
  /** Weight of the server's KV-cache use, 0-1. */
  readonly kvCache: number;
  /** Exponent of (in flight + 1): 1 = cost grows in proportion, 0 = ignore in-flight counts. */
  readonly inflight: number;
  /** Exponent of the latency estimate: 1 = in proportion, 0 = ignore latency. */
  readonly latency: number;
}

export interface LoadAwareOptions {
  readonly weights: LoadAwareWeights;
  /** Pools with at most this many eligible backends are scored whole; larger ones compare two at random. */
  readonly scoreAllUpTo: number;
}

/** How sharply the draw prefers the least loaded backend: probability in proportion to (best / load)^8. */
export const LOAD_SHARPNESS = 8;
/** How sharply it prefers the fastest: (best / latency)^2. Milder: a peak-EWMA score jumps on one slow sample. */
export const LATENCY_SHARPNESS = 2;

export class LoadAwareBalancer<T extends Candidate = Candidate> implements Balancer<T> {
  readonly #random: () => number;
  readonly #options: LoadAwareOptions;
  // Reused between picks so that a pick allocates nothing; emptied after each pick.
  readonly #eligible: T[] = [];
  readonly #weights: number[] = [];
  readonly #latency: number[] = [];
  readonly #load: number[] = [];

  constructor(deps: BalancerDeps, options: LoadAwareOptions) {
    this.#random = deps.random;
    this.#options = options;
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
    let chosen: T | undefined;
    if (candidates.length === 1) chosen = candidates[0];
    else if (candidates.length > 1) {
      if (candidates.length > this.#options.scoreAllUpTo) this.#keepTwoAtRandom(candidates, weights);
      chosen = candidates[this.#choose(candidates, weights)];
    }
    candidates.length = 0;
    weights.length = 0;
    return chosen;
  }

  /** The sharpened weighted draw over the candidates' latency and load factors; returns the index chosen. */
  #choose(candidates: T[], weights: number[]): number {
    const f = factorsOf(candidates, this.#options.weights, this.#latency, this.#load);
    let bestLatency = Number.POSITIVE_INFINITY;
    let bestLoad = Number.POSITIVE_INFINITY;
    for (let i = 0; i < candidates.length; i++) {
      if (f.latency[i]! < bestLatency) bestLatency = f.latency[i]!;
      if (f.load[i]! < bestLoad) bestLoad = f.load[i]!;
    }
    let total = 0;
    const shares = weights; // reused in place: weight x (best latency / latency)^2 x (best load / load)^8
    for (let i = 0; i < candidates.length; i++) {
      const s = shares[i]! * relative(bestLatency, f.latency[i]!, LATENCY_SHARPNESS) * relative(bestLoad, f.load[i]!, LOAD_SHARPNESS);
      shares[i] = s;
      total += s;
    }
    if (!(total > 0) || !Number.isFinite(total)) return Math.min(Math.floor(this.#random() * candidates.length), candidates.length - 1);
    let r = this.#random() * total;
    for (let i = 0; i < candidates.length; i++) {
      r -= shares[i]!;
      if (r < 0) return i;
    }
    return candidates.length - 1;
  }

  /** P2C for a large pool: two distinct candidates, each pair equally likely; the arrays keep just those two. */
  #keepTwoAtRandom(candidates: T[], weights: number[]): void {
    const n = candidates.length;
    const i = Math.min(Math.floor(this.#random() * n), n - 1);
    let j = Math.min(Math.floor(this.#random() * (n - 1)), n - 2);
    if (j >= i) j++;
    const [a, b, wa, wb] = [candidates[i]!, candidates[j]!, weights[i]!, weights[j]!];
    candidates.length = 0;
    weights.length = 0;
    candidates.push(a, b);
    weights.push(wa, wb);
  }
}

/** Scratch space of factorsOf (picks are synchronous: one at a time). */
const SERVER_LOADS: Array<ServerLoad | undefined> = [];

/** (best / value)^sharpness, 0-1; equal values (Infinity included) give 1, a value of Infinity against finite ones 0. */
function relative(best: number, value: number, sharpness: number): number {
  if (value === best) return 1;
  if (!Number.isFinite(value)) return 0;
  const r = best / value;
  const r2 = r * r; // the two sharpnesses by multiplication: Math.pow is the slowest part of a pick
  return sharpness === 2 ? r2 : sharpness === 8 ? r2 * r2 * (r2 * r2) : r ** sharpness;
}

/** x^e, without Math.pow for the usual exponents 1 and 0. */
function power(x: number, e: number): number {
  return e === 1 ? x : e === 0 ? 1 : x ** e;
}

/**
 * Per candidate, the two factors of its cost (lower is better): latency^wLatency, and the load factor
 * (in-flight + 1)^wInflight x (1 + wQueue x queue / maxQueue + wKv x kvUse). An unknown latency (0) counts as the
 * mean of the known ones, 1 when none is known; NaN anywhere counts as Infinity (never preferred).
 */
export function factorsOf(candidates: readonly Candidate[], w: LoadAwareWeights, latency: number[] = [], load: number[] = []): { latency: number[]; load: number[] } {
  latency.length = 0;
  load.length = 0;
  // First pass: raw latency scores (kept in `latency`), the server loads (kept by index), the known mean and the queue
  // maximum; each backend is asked once per pick.
  const loads = SERVER_LOADS;
  loads.length = 0;
  let known = 0;
  let sumLatency = 0;
  let maxQueue = 0;
  let queues = 0;
  let sumQueue = 0;
  let kvs = 0;
  let sumKv = 0;
  for (const c of candidates) {
    const l = c.latencyScore();
    latency.push(l);
    if (l > 0 && Number.isFinite(l)) {
      known++;
      sumLatency += l;
    }
    const server = c.serverLoad?.();
    loads.push(server);
    const q = server?.queued;
    if (q !== undefined) {
      if (q > maxQueue) maxQueue = q;
      queues++;
      sumQueue += q;
    }
    if (server?.kvUsage !== undefined) {
      kvs++;
      sumKv += server.kvUsage;
    }
  }
  const unknownLatency = known > 0 ? sumLatency / known : 1;
  // A backend without a fresh signal while others have one (its /metrics stopped answering, or its first scrape is
  // pending) counts as the pool's average, not as idle: a server too busy to answer /metrics must not draw everything.
  const meanQueue = queues > 0 ? sumQueue / queues : 0;
  const meanKv = kvs > 0 ? sumKv / kvs : 0;
  for (let i = 0; i < candidates.length; i++) {
    const raw = latency[i]!;
    const l = power(raw > 0 ? raw : Number.isNaN(raw) ? Number.POSITIVE_INFINITY : unknownLatency, w.latency);
    const server = loads[i];
    const queue = maxQueue > 0 ? (server?.queued ?? meanQueue) / maxQueue : 0;
    const kv = server?.kvUsage ?? meanKv;
    const f = power(candidates[i]!.inflight + 1, w.inflight) * (1 + w.queue * queue + w.kvCache * kv);
    latency[i] = Number.isNaN(l) ? Number.POSITIVE_INFINITY : l;
    load.push(Number.isNaN(f) ? Number.POSITIVE_INFINITY : f);
  }
  loads.length = 0;
  return { latency, load };
}

/**
 * The expected cost of a new request on each candidate, latency x load factor, for the per-backend score gauges and
 * /admin/backends: what the picker weighs, in one number per backend (lower is better).
 */
export function scoreCandidates(candidates: readonly Candidate[], w: LoadAwareWeights): number[] {
  const f = factorsOf(candidates, w);
  return f.latency.map((l, i) => l * f.load[i]!);
}

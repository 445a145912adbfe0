// One group's requests since the last check: counts, plus a fixed-size uniform sample of latencies for the tests and quantiles.

import { quantileOf } from './stats.js';

/** One side of a check window: counts, and the latencies of successful requests (a uniform sample), ascending. */
export interface WindowSample {
  requests: number;
  errors: number;
  latencies: Float64Array;
}

/** One replica's window as reported to the leader: `successes` is how many successful requests `latencies` samples. */
export interface WindowReport {
  requests: number;
  errors: number;
  successes: number;
  latencies: number[];
}

/** Latencies kept per window; p99 of 2,000 uniform samples is within about ±0.5 percentile points, and ranking 2,000 + 2,000 is cheap. */
export const RESERVOIR_SIZE = 2000;

/**
 * Counts every request and keeps a uniform reservoir sample (Vitter's algorithm R) of successful
 * requests' latencies in a preallocated array, so record() is O(1) and allocates nothing; the
 * sample is sorted only at check time. Errors are counted but not sampled: a backend that fails
 * in 1 ms must not look fast.
 */
export class RequestWindow {
  readonly #sample: Float64Array;
  readonly #random: () => number;
  #requests = 0;
  #errors = 0;
  /** Successful requests seen (the reservoir's stream length). */
  #successes = 0;

  constructor(random: () => number, size = RESERVOIR_SIZE) {
    this.#random = random;
    this.#sample = new Float64Array(size);
  }

  get requests(): number {
    return this.#requests;
  }

  record(ok: boolean, latencyMs: number): void {
    this.#requests++;
    if (!ok) {
      this.#errors++;
      return;
    }
    const seen = this.#successes++;
    if (seen < this.#sample.length) {
      this.#sample[seen] = latencyMs;
      return;
    }
    const j = Math.floor(this.#random() * (seen + 1));
    if (j < this.#sample.length) this.#sample[j] = latencyMs;
  }

  reset(): void {
    this.#requests = 0;
    this.#errors = 0;
    this.#successes = 0;
  }

  /** Counts and the sorted latency sample (a copy: sorting happens here, at check time, never in record()). */
  sample(): WindowSample {
    const n = Math.min(this.#successes, this.#sample.length);
    return { requests: this.#requests, errors: this.#errors, latencies: this.#sample.slice(0, n).sort() };
  }

  /**
   * What a replica reports to the rollout's leader (coordination/): counts, and at most `max` of the kept latencies
   * (a uniform subsample of the reservoir, so still uniform over the window), rounded to microseconds.
   */
  report(max: number): WindowReport {
    const n = Math.min(this.#successes, this.#sample.length);
    const kept = sampleWithoutReplacement(Array.from(this.#sample.subarray(0, n)), max, this.#random);
    return { requests: this.#requests, errors: this.#errors, successes: this.#successes, latencies: kept.map((x) => Math.round(x * 1000) / 1000) };
  }

  /** Latency quantile q of the sample (nearest rank); null with no successful request. */
  quantile(q: number): number | null {
    return quantileOf(this.sample().latencies, q);
  }
}

/** The first `k` of a random permutation of `items` (a partial Fisher–Yates, in place): `items`, cut to `k`. */
function sampleWithoutReplacement(items: number[], k: number, random: () => number): number[] {
  const m = Math.min(k, items.length);
  for (let i = 0; i < m; i++) {
    const j = i + Math.floor(random() * (items.length - i));
    const t = items[i]!;
    items[i] = items[j]!;
    items[j] = t;
  }
  items.length = m;
  return items;
}

/**
 * The leader's window and every other replica's reports as one sample: counts add up; latencies are drawn from each
 * side in proportion to the successful requests it saw (its sample stands for that many), at most `size` in all, so
 * the union stays a uniform sample of the fleet's traffic rather than over-weighting a quiet replica.
 */
export function mergeReports(reports: readonly WindowReport[], random: () => number, size = RESERVOIR_SIZE): WindowSample {
  let requests = 0;
  let errors = 0;
  let successes = 0;
  let available = 0;
  for (const r of reports) {
    requests += r.requests;
    errors += r.errors;
    successes += r.successes;
    available += r.latencies.length;
  }
  // As many as every side can supply in its proportion: a side trimmed to fewer latencies than its share would
  // otherwise be under-represented (its proportion capped) and the others over-represented.
  let total = Math.min(size, available);
  for (const r of reports) if (r.successes > 0) total = Math.min(total, Math.floor((r.latencies.length * successes) / r.successes));
  const out: number[] = [];
  for (const r of reports) {
    if (r.latencies.length === 0 || successes === 0) continue;
    const want = Math.min(r.latencies.length, Math.round((total * r.successes) / successes));
    for (const x of sampleWithoutReplacement(r.latencies.slice(), want, random)) out.push(x);
  }
  return { requests, errors, latencies: Float64Array.from(out).sort() };
}

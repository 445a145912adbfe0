// One group's requests since the last check: counts, plus a fixed-size uniform sample of latencies for the tests and quantiles.

import { quantileOf } from './stats.js';

/** One side of a check window: counts, and the latencies of successful requests (a uniform sample), ascending. */
export interface WindowSample {
  requests: number;
  errors: number;
  latencies: Float64Array;
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

  /** Latency quantile q of the sample (nearest rank); null with no successful request. */
  quantile(q: number): number | null {
    return quantileOf(this.sample().latencies, q);
  }
}

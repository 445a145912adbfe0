// Peak-EWMA latency score of one backend, as Finagle's PeakEwma: peaks count at once, calm decays in over
// time and, unlike Finagle, by at least half a step per calmer sample, so one slow sample is soon forgotten.

export interface PeakEwmaOptions {
  /** Time constant of the decay in ms; a sample's influence falls to 1/e after this long. */
  tauMs?: number;
  /** Least latency a failure counts as, in ms. */
  failureFloorMs?: number;
  /** Most latency a failure counts as, in ms, so a backend that failed for a while can recover. */
  failureCeilingMs?: number;
  /**
   * Least weight a sample below the score gets, 0 to 1. By time alone a peak fades over tau whatever the
   * request rate, so one slow sample (a cold first request) outweighed a thousand fast ones for 10 s and
   * more; with 0.5 a peak that the next samples do not confirm halves its excess with each of them.
   */
  minSampleWeight?: number;
}

export const DEFAULT_TAU_MS = 10_000;
export const DEFAULT_FAILURE_FLOOR_MS = 1_000;
export const DEFAULT_FAILURE_CEILING_MS = 60_000;
export const DEFAULT_MIN_SAMPLE_WEIGHT = 0.5;

export class PeakEwma {
  readonly #tauMs: number;
  readonly #failureFloorMs: number;
  readonly #failureCeilingMs: number;
  /** Most weight the past keeps against a lower sample: 1 - minSampleWeight. */
  readonly #maxPastWeight: number;
  #cost = 0;
  #stampMs: number | undefined;

  constructor(options: PeakEwmaOptions = {}) {
    this.#tauMs = options.tauMs ?? DEFAULT_TAU_MS;
    this.#failureFloorMs = options.failureFloorMs ?? DEFAULT_FAILURE_FLOOR_MS;
    this.#failureCeilingMs = options.failureCeilingMs ?? DEFAULT_FAILURE_CEILING_MS;
    this.#maxPastWeight = 1 - Math.min(Math.max(options.minSampleWeight ?? DEFAULT_MIN_SAMPLE_WEIGHT, 0), 1);
  }

  /** Record one request's latency `ms`, completed at `nowMs` (monotonic clock). */
  observe(ms: number, nowMs: number): void {
    if (!(ms >= 0)) return; // NaN or negative: a clock glitch, not a latency
    const w = this.#weightOfPast(nowMs);
    // Compared with the decayed value: Finagle and tower decay the stored value on every read,
    // and a balancer reads it on every pick, so this is their result with a read just before.
    if (ms > this.#cost * w) {
      this.#cost = ms;
    } else {
      const past = Math.min(w, this.#maxPastWeight);
      this.#cost = this.#cost * past + ms * (1 - past);
    }
    this.#stampMs = nowMs;
  }

  /**
   * Record a failed request. A backend that fails in 1 ms must not look like the fastest one (the
   * "black hole" of DESIGN.md), so a failure counts as a sample of twice the current score, at least
   * the floor (1 s) and at most the ceiling (60 s), and never less than the current score: repeated
   * failures keep doubling it up to the ceiling, and it decays back once real successes come in.
   */
  observeFailure(nowMs: number): void {
    const current = this.value(nowMs);
    const penalty = Math.min(Math.max(current * 2, this.#failureFloorMs), this.#failureCeilingMs);
    this.observe(Math.max(penalty, current), nowMs);
  }

  /**
   * The score at `nowMs` in ms, 0 when nothing was observed. With no new samples it decays toward 0
   * (as Finagle's read does), so a backend that has been quiet is tried again.
   */
  value(nowMs: number): number {
    return this.#cost * this.#weightOfPast(nowMs);
  }

  #weightOfPast(nowMs: number): number {
    if (this.#stampMs === undefined) return 0;
    const elapsed = Math.max(nowMs - this.#stampMs, 0);
    return Math.exp(-elapsed / this.#tauMs);
  }
}

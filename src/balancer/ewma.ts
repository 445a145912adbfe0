// Peak-EWMA latency score of one backend, as Finagle's PeakEwma: peaks count at once, calm decays in slowly.

export interface PeakEwmaOptions {
  /** Time constant of the decay in ms; a sample's influence falls to 1/e after this long. */
  tauMs?: number;
  /** Least latency a failure counts as, in ms. */
  failureFloorMs?: number;
  /** Most latency a failure counts as, in ms, so a backend that failed for a while can recover. */
  failureCeilingMs?: number;
}

export const DEFAULT_TAU_MS = 10_000;
export const DEFAULT_FAILURE_FLOOR_MS = 1_000;
export const DEFAULT_FAILURE_CEILING_MS = 60_000;

export class PeakEwma {
  readonly #tauMs: number;
  readonly #failureFloorMs: number;
  readonly #failureCeilingMs: number;
  #cost = 0;
  #stampMs: number | undefined;

  constructor(options: PeakEwmaOptions = {}) {
    this.#tauMs = options.tauMs ?? DEFAULT_TAU_MS;
    this.#failureFloorMs = options.failureFloorMs ?? DEFAULT_FAILURE_FLOOR_MS;
    this.#failureCeilingMs = options.failureCeilingMs ?? DEFAULT_FAILURE_CEILING_MS;
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
      this.#cost = this.#cost * w + ms * (1 - w);
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

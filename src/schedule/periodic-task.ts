// Repeats one async task every interval +- jitter on the injected clock: first at once, never two runs at a time.
import type { Clock, Timer } from '../clock.js';

export interface PeriodicTaskDeps {
  clock: Clock;
  /** Uniform [0, 1), drawn once per scheduled run (also when jitter is 0). */
  random: () => number;
}

/**
 * The first run starts at once on start(), not after one interval. The next run is scheduled only
 * when the previous one finished, so runs never overlap. The task must not reject: it owns its errors.
 */
export class PeriodicTask {
  readonly #intervalMs: number;
  readonly #jitter: number;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #task: () => Promise<void>;
  #timer: Timer | null = null;
  #stopped = true;
  #running = false;
  /** now() was asked for during a run: run once more as soon as it ends (its answer may predate the reason). */
  #again = false;

  /** `jitter` is a fraction: 0.1 spreads each delay uniformly over interval +-10%; 0 keeps it exact. */
  constructor(intervalMs: number, jitter: number, deps: PeriodicTaskDeps, task: () => Promise<void>) {
    this.#intervalMs = intervalMs;
    this.#jitter = jitter;
    this.#clock = deps.clock;
    this.#random = deps.random;
    this.#task = task;
  }

  /** Between start() and stop(); a task can ask this after an await to drop a result nobody wants any more. */
  get started(): boolean {
    return !this.#stopped;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    void this.#tick();
  }

  /** Cancels the next run; a run in progress finishes but schedules nothing. */
  stop(): void {
    this.#stopped = true;
    this.#timer?.cancel();
    this.#timer = null;
  }

  /** Run now instead of at the next tick (e.g. right after an ejection ends); never overlaps a run: during one, runs again right after it. */
  now(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#timer?.cancel();
    this.#timer = null;
    void this.#tick();
  }

  async #tick(): Promise<void> {
    if (this.#stopped || this.#running) return;
    this.#running = true;
    try {
      await this.#task();
    } finally {
      this.#running = false;
      if (this.#again && !this.#stopped) {
        this.#again = false;
        void this.#tick();
      } else if (!this.#stopped) this.#timer = this.#clock.setTimer(this.#nextDelay(), () => void this.#tick());
    }
  }

  /** Interval with +-jitter so a fleet's runs do not fire in lockstep; at least 1 ms. */
  #nextDelay(): number {
    const j = this.#jitter;
    return Math.max(1, Math.round(this.#intervalMs * (1 + j * (2 * this.#random() - 1))));
  }
}

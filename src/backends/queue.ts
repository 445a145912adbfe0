// The bounded FIFO where requests wait while their pool has no READY backend, or all are at maxConcurrent.
import type { Clock, Timer } from '../clock.js';

/** A waiting request: told when a backend can take it, or when its wait expired. */
export interface Waiter {
  onSlot(): void;
  onQueueTimeout(): void;
}

interface Entry {
  readonly waiter: Waiter;
  readonly since: number;
  timer: Timer | null;
}

export interface QueueStats {
  length(n: number): void;
  waited(seconds: number): void;
}

export class WaitQueue {
  readonly max: number;
  readonly timeoutMs: number;
  readonly #clock: Clock;
  readonly #stats: QueueStats | null;
  /** Insertion-ordered: iteration is FIFO, removal of an aborted waiter is O(1). */
  readonly #entries = new Map<Waiter, Entry>();

  constructor(max: number, timeoutMs: number, clock: Clock, stats: QueueStats | null = null) {
    this.max = max;
    this.timeoutMs = timeoutMs;
    this.#clock = clock;
    this.#stats = stats;
  }

  get length(): number {
    return this.#entries.size;
  }

  /** False when the queue is full: the caller answers 503 at once. */
  enqueue(waiter: Waiter): boolean {
    if (this.#entries.size >= this.max) return false;
    const entry: Entry = { waiter, since: this.#clock.now(), timer: null };
    entry.timer = this.#clock.setTimer(this.timeoutMs, () => {
      if (this.#take(waiter)) waiter.onQueueTimeout();
    });
    this.#entries.set(waiter, entry);
    this.#stats?.length(this.#entries.size);
    return true;
  }

  /** A waiter that gave up (client gone). */
  remove(waiter: Waiter): void {
    this.#take(waiter);
  }

  /**
   * Capacity may have appeared: hand it to waiters in arrival order for as long as `available()`
   * says a backend can take one more request (each onSlot() takes that capacity synchronously).
   */
  wake(available: () => boolean): void {
    for (const [waiter, entry] of this.#entries) {
      if (!available()) return;
      this.#entries.delete(waiter);
      waiter.onSlot();
      const requeued = this.#entries.get(waiter);
      if (requeued !== undefined) {
        // It could not use the capacity (e.g. the only READY backend has weight 0), so no waiter can: keep its
        // place and its deadline, and stop here rather than hand the same slot round forever.
        requeued.timer?.cancel();
        this.#entries.delete(waiter);
        const rest = [...this.#entries];
        this.#entries.clear();
        this.#entries.set(waiter, entry);
        for (const [w, e] of rest) this.#entries.set(w, e);
        this.#stats?.length(this.#entries.size);
        return;
      }
      this.#done(entry);
    }
  }

  /** Every waiter gets its timeout answer now (shutdown). */
  flush(): void {
    for (const waiter of [...this.#entries.keys()]) if (this.#take(waiter)) waiter.onQueueTimeout();
  }

  #take(waiter: Waiter): boolean {
    const entry = this.#entries.get(waiter);
    if (entry === undefined) return false;
    this.#entries.delete(waiter);
    this.#done(entry);
    return true;
  }

  /** A waiter left the queue for good: stop its timer, account its wait. */
  #done(entry: Entry): void {
    entry.timer?.cancel();
    this.#stats?.length(this.#entries.size);
    this.#stats?.waited((this.#clock.now() - entry.since) / 1000);
  }
}

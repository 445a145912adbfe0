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
   * Capacity may have appeared: hand it to waiters in arrival order for as long as `available()` says a backend can
   * take one more request (each onSlot() takes that capacity synchronously). A waiter that cannot use it (pinned to
   * another group, a retry excluding the free backend, weight 0) keeps its place and deadline and the next one is
   * asked: one waiter must never hold a free slot from those behind it. Each waiter is asked once per wake.
   */
  wake(available: () => boolean): void {
    const setAside: Array<[Waiter, Entry]> = [];
    for (const [waiter, entry] of [...this.#entries]) {
      if (!available()) break;
      if (this.#entries.get(waiter) !== entry) continue; // left meanwhile (an earlier onSlot() answered it)
      this.#entries.delete(waiter);
      waiter.onSlot();
      const requeued = this.#entries.get(waiter);
      if (requeued !== undefined) {
        requeued.timer?.cancel();
        this.#entries.delete(waiter);
        setAside.push([waiter, entry]);
        continue;
      }
      this.#done(entry);
    }
    if (setAside.length > 0) {
      const rest = [...this.#entries];
      this.#entries.clear();
      for (const [w, e] of setAside) this.#entries.set(w, e);
      for (const [w, e] of rest) this.#entries.set(w, e);
      this.#stats?.length(this.#entries.size);
    }
  }

  /** Every waiter gets its timeout answer now (shutdown). */
  flush(): void {
    for (const waiter of [...this.#entries.keys()]) if (this.#take(waiter)) waiter.onQueueTimeout();
  }

  /** Every waiter leaves the queue without an answer, oldest first (a reload hands them to the next configuration). */
  takeAll(): Waiter[] {
    const all = [...this.#entries.keys()];
    for (const waiter of all) this.#take(waiter);
    return all;
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

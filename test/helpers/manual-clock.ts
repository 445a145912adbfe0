// The one fake clock of the tests: time moves only when the test says so, and every timer set is recorded.
import type { Clock, Timer } from '../../src/clock.js';

/** Which timers a count or wait is about: an exact delay, or a predicate over the delay. */
export type DelayMatch = number | ((ms: number) => boolean);

interface Pending {
  at: number;
  /** Order of scheduling: timers due at the same time fire in the order they were set. */
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

export class ManualClock implements Clock {
  /** Delay of every setTimer call, in order (cancelled and fired ones included). */
  readonly delays: number[] = [];
  #now = 0;
  #seq = 0;
  #timers: Pending[] = [];
  #waiters: Array<{ ready: () => boolean; resolve: () => void }> = [];

  now(): number {
    return this.#now;
  }

  wallNow(): number {
    return 1_700_000_000_000 + this.#now;
  }

  setTimer(ms: number, fn: () => void): Timer {
    const t: Pending = { at: this.#now + ms, seq: this.#seq++, fn, cancelled: false };
    this.#timers.push(t);
    this.delays.push(ms);
    this.#wake();
    return { cancel: () => void (t.cancelled = true) };
  }

  /**
   * Move time forward by `ms`, firing every timer that falls due on the way, in order of due time, each with
   * now() at its due time; timers they set fire too when they fall due before the end.
   */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let due: Pending | undefined;
      for (const t of this.#timers) {
        if (t.cancelled || t.at > end) continue;
        if (due === undefined || t.at < due.at || (t.at === due.at && t.seq < due.seq)) due = t;
      }
      if (due === undefined) break;
      this.#now = Math.max(this.#now, due.at);
      due.cancelled = true;
      due.fn();
    }
    this.#timers = this.#timers.filter((t) => !t.cancelled);
    this.#now = end;
  }

  /** Timers set and neither fired nor cancelled. */
  pending(): number {
    return this.#timers.filter((t) => !t.cancelled).length;
  }

  /** How many timers matching `match` were set so far. */
  count(match: DelayMatch): number {
    const pred = typeof match === 'number' ? (ms: number) => ms === match : match;
    return this.delays.filter(pred).length;
  }

  /**
   * Resolves once `count(match) >= n`. A component that re-arms its timer when it has finished a step (the prober
   * after a probe's verdict) can be waited on this way: "the 3rd 5 s timer was set" means "the 2nd probe is done".
   */
  waitFor(match: DelayMatch, n: number): Promise<void> {
    const ready = (): boolean => this.count(match) >= n;
    if (ready()) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ ready, resolve }));
  }

  #wake(): void {
    for (let i = this.#waiters.length - 1; i >= 0; i--) {
      const w = this.#waiters[i]!;
      if (w.ready()) {
        this.#waiters.splice(i, 1);
        w.resolve();
      }
    }
  }
}

/** Deterministic uniform [0,1) generator (mulberry32). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

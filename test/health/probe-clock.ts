// A ManualClock that records every timer set, so a test can wait for "the prober scheduled its next probe".
import { ManualClock } from '../helpers/manual-clock.js';
import type { Timer } from '../../src/clock.js';

export class RecordingClock extends ManualClock {
  /** Delay of every setTimer call, in order. */
  readonly delays: number[] = [];
  #waiters: Array<{ ready: () => boolean; resolve: () => void }> = [];

  override setTimer(ms: number, fn: () => void): Timer {
    const t = super.setTimer(ms, fn);
    this.delays.push(ms);
    this.#check();
    return t;
  }

  /** How many timers with this delay (or matching it) were set so far. */
  count(match: number | ((ms: number) => boolean)): number {
    const pred = typeof match === 'number' ? (ms: number) => ms === match : match;
    return this.delays.filter(pred).length;
  }

  /** Resolves once `count(match) >= n` (checked on every setTimer call). */
  waitFor(match: number | ((ms: number) => boolean), n: number): Promise<void> {
    const ready = (): boolean => this.count(match) >= n;
    if (ready()) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ ready, resolve }));
  }

  #check(): void {
    for (let i = this.#waiters.length - 1; i >= 0; i--) {
      const w = this.#waiters[i]!;
      if (w.ready()) {
        this.#waiters.splice(i, 1);
        w.resolve();
      }
    }
  }
}

// Time and timers, injected so that logic depending on time can be tested without sleeping.

export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Monotonic milliseconds. */
  now(): number;
  /** Wall-clock milliseconds since the epoch (for display only). */
  wallNow(): number;
  setTimer(ms: number, fn: () => void): Timer;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  setTimer(ms, fn) {
    // setTimeout fires at once past 2^31-1 ms (~24.8 days): clamp, such a timer is as good as none.
    const t = setTimeout(fn, Math.min(ms, 2 ** 31 - 1));
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};

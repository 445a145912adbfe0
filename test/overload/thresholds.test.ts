// overload/thresholds.ts: past the thresholds from the server's own numbers, or from infergate's in-flight without them.
import { describe, expect, it } from 'vitest';
import { estimatedQueue, pastThresholds } from '../../src/overload/thresholds.js';
import type { ServerLoad } from '../../src/signals/types.js';

const t = { queue: 5, kvUsage: 0.8, inflight: 0 };

describe('pastThresholds (queue 5, kvUsage 0.8, inflight off)', () => {
  it.each<[string, ServerLoad | undefined, number, number, boolean]>([
    ['no signal, in-flight fallback off', undefined, 0, 1000, false],
    ['queue below', { queued: 4, kvUsage: 0.1, at: 0 }, 4, 0, false],
    ['queue at the threshold', { queued: 5, at: 0 }, 5, 0, true],
    ['queue estimated up since the scrape', { queued: 3, at: 0 }, 5, 0, true],
    ['KV below', { kvUsage: 0.79, at: 0 }, 0, 0, false],
    ['KV at the threshold', { kvUsage: 0.8, at: 0 }, 0, 0, true],
    ['the server exports no queue: the estimate is not judged', { kvUsage: 0.1, at: 0 }, 9, 0, false],
    ['only running: nothing to judge', { running: 500, at: 0 }, 0, 0, false],
  ])('%s', (_name, load, queued, inflight, past) => {
    expect(pastThresholds(load, queued, inflight, t)).toBe(past);
  });

  it('thresholds of 0 are off', () => {
    expect(pastThresholds({ queued: 100, kvUsage: 1, at: 0 }, 100, 0, { queue: 0, kvUsage: 0, inflight: 0 })).toBe(false);
  });

  it('without a fresh signal, infergate in flight at or above `inflight`', () => {
    const f = { ...t, inflight: 4 };
    expect(pastThresholds(undefined, 0, 3, f)).toBe(false);
    expect(pastThresholds(undefined, 0, 4, f)).toBe(true);
    // A fresh signal rules: in-flight is not judged then.
    expect(pastThresholds({ queued: 0, at: 0 }, 0, 40, f)).toBe(false);
  });
});

describe('estimatedQueue', () => {
  it.each([
    [4, 10, 10, 4],
    [4, 10, 12, 6], // two more sent since the scrape
    [4, 10, 7, 1], // three ended: three waiting ones run
    [1, 10, 2, 0], // never negative
    [0, 2, 30, 0], // the server said nothing waits: what was sent since may be running (its next scrape says)
  ])('scraped %i, in flight %i then %i now: %i', (scraped, then, now, expected) => {
    expect(estimatedQueue(scraped, then, now)).toBe(expected);
  });
});

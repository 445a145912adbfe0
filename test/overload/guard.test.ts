// overload/guard.ts: the queue estimate restarts at each scrape; the priority header picks who is shed.
import { describe, expect, it } from 'vitest';
import { OverloadGuard } from '../../src/overload/guard.js';
import type { ServerLoad } from '../../src/signals/types.js';

const cfg = { queue: 5, kvUsage: 0.8, inflight: 0, priorityHeader: 'x-infergate-priority', shed: new Set(['low', 'batch']) };

function backend() {
  const b = { id: 'b', inflight: 0, load: undefined as ServerLoad | undefined, effectiveWeight: () => 1, latencyScore: () => 0, serverLoad: () => b.load };
  return b;
}

describe('OverloadGuard', () => {
  it('counts what infergate sent since the scrape on top of the scraped queue, and starts over at the next scrape', () => {
    const g = new OverloadGuard(cfg, () => 0);
    const b = backend();
    b.inflight = 10;
    b.load = { queued: 3, at: 100 };
    expect(g.full(b)).toBe(false); // 3, and the in-flight count of this scrape is 10
    b.inflight = 12;
    expect(g.full(b)).toBe(true); // 3 + 2
    b.inflight = 11;
    expect(g.full(b)).toBe(false); // one ended: a waiting one runs
    b.load = { queued: 5, at: 200 };
    expect(g.full(b)).toBe(true);
    b.load = { queued: 0, at: 300 };
    expect(g.full(b)).toBe(false);
  });

  it('the same scrape read again a few ms later (a worker\'s copy, re-dated at each view) keeps its in-flight count', () => {
    const g = new OverloadGuard(cfg, () => 0);
    const b = backend();
    b.inflight = 10;
    b.load = { queued: 3, at: 100 };
    expect(g.full(b)).toBe(false);
    b.inflight = 12;
    b.load = { queued: 3, at: 103 };
    expect(g.full(b)).toBe(true); // still 3 + 2
    b.load = { queued: 3, at: 250 }; // a new scrape: it counts the 2 already
    expect(g.full(b)).toBe(false);
  });

  it('a stale or absent signal with the in-flight fallback off: never full', () => {
    const g = new OverloadGuard(cfg, () => 0);
    const b = backend();
    b.inflight = 10_000;
    expect(g.full(b)).toBe(false);
    expect(g.full({ id: 'x', inflight: 10_000, effectiveWeight: () => 1, latencyScore: () => 0 })).toBe(false);
  });

  it('shedPriority: the header value when it is one to shed', () => {
    const g = new OverloadGuard(cfg, () => 0);
    expect(g.shedPriority({ 'x-infergate-priority': 'low' })).toBe('low');
    expect(g.shedPriority({ 'x-infergate-priority': 'batch' })).toBe('batch');
    expect(g.shedPriority({ 'x-infergate-priority': 'high' })).toBeNull();
    expect(g.shedPriority({})).toBeNull();
    expect(g.shedPriority({ 'x-infergate-priority': ['low', 'low'] })).toBeNull();
  });

  it('reports wait in seconds, once per hold', () => {
    const waited: number[] = [];
    const g = new OverloadGuard(cfg, () => 2000, { shed() {}, held() {}, waited: (s) => waited.push(s) });
    const r = { overloadedSince: 500 };
    g.endHold(r);
    g.endHold(r);
    g.endHold({});
    expect(waited).toEqual([1.5]);
  });
});

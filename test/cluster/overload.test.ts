// Cluster with an overload policy: when every backend is past its thresholds, low priority is shed and the rest waits
// in the queue until a backend drops below them (a response end, or a scrape through loadChanged()); on the manual clock.
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backends/backend.js';
import { Queued } from '../../src/cluster/cluster.js';
import type { ServerLoad } from '../../src/signals/types.js';
import { yaml } from '../config/helpers.js';
import { cluster, ready, request } from './support.js';

const pool = (overload: string, queue = '{ max: 10, timeout: 5s }') =>
  yaml('pools:', '  p:', '    balance: round-robin', '    backends: [http://127.0.0.1:9101, http://127.0.0.1:9102]', `    queue: ${queue}`, `    overload: ${overload}`);

function counting() {
  const seen = { shed: [] as string[], held: 0, waited: [] as number[] };
  return { seen, stats: { shed: (p: string) => seen.shed.push(p), held: () => seen.held++, waited: (s: number) => seen.waited.push(s) } };
}

/** Stands in for the signals part: what the backend's server last said. */
function withLoad(b: Backend): { set(l: ServerLoad | undefined): void } {
  let load: ServerLoad | undefined;
  Object.assign(b, { serverLoad: () => load });
  return { set: (l) => void (load = l) };
}

const end = (c: ReturnType<typeof cluster>['c'], b: Backend): void => c.report('end', { backend: b, status: 200, latencyMs: 1, failure: null });

describe('overload from in-flight (no server signal, overload.inflight set)', () => {
  it('holds a request while every backend is at the threshold, hands it the first freed one, and counts its wait', () => {
    const { seen, stats } = counting();
    const { c, clock, byPort } = cluster(pool('{ inflight: 2 }'), { overloadStats: stats });
    const [a, b] = [byPort(9101), byPort(9102)];
    ready(a);
    ready(b);
    for (let i = 0; i < 4; i++) expect(c.pick(request())).not.toBeInstanceOf(Queued);
    expect([a.inflight, b.inflight]).toEqual([2, 2]);
    const held = request();
    expect(c.pick(held)).toBeInstanceOf(Queued);
    expect(held.overload).toBe('held');
    expect(seen.held).toBe(1);
    clock.advance(300);
    end(c, b);
    expect(held.slots).toBe(1);
    // The slot is taken by the re-pick (the exchange's onSlot): the wait is counted there, once.
    expect(c.pick(held)).toBe(b);
    expect(seen.waited).toEqual([0.3]);
    expect(held.overloadedSince).toBe(-1);
  });

  it('sheds a request whose priority header says so, at once, and counts it by priority', () => {
    const { seen, stats } = counting();
    const { c, byPort } = cluster(pool('{ inflight: 1, priority: { shed: [low, batch] } }'), { overloadStats: stats });
    ready(byPort(9101));
    ready(byPort(9102));
    c.pick(request());
    c.pick(request());
    const low = request({ headers: { 'x-infergate-priority': 'batch' } });
    expect(c.pick(low)).toBe('overloaded');
    expect(low.overload).toBe('shed');
    expect(c.pick(request({ headers: { 'x-infergate-priority': 'high' } }))).toBeInstanceOf(Queued);
    expect(seen.shed).toEqual(['batch']);
  });

  it('without a queue, or for what cannot wait (a WebSocket upgrade), overload sheds', () => {
    const { seen, stats } = counting();
    const { c, byPort } = cluster(pool('{ inflight: 1 }', 'false'), { overloadStats: stats });
    ready(byPort(9101));
    ready(byPort(9102));
    c.pick(request());
    c.pick(request());
    expect(c.pick(request())).toBe('overloaded');
    expect(seen.shed).toEqual(['cannot-wait']);
  });

  it('the queue timeout still answers a held request', () => {
    const { c, clock, byPort } = cluster(pool('{ inflight: 1 }'));
    ready(byPort(9101));
    ready(byPort(9102));
    c.pick(request());
    c.pick(request());
    const held = request();
    c.pick(held);
    clock.advance(5_000);
    expect(held.timeouts).toBe(1);
  });

  it('no READY backend is not overload: the request waits as before, not shed', () => {
    const { c } = cluster(pool('{ inflight: 1 }'));
    const low = request({ headers: { 'x-infergate-priority': 'low' } });
    expect(c.pick(low)).toBeInstanceOf(Queued);
    expect(low.overload).toBeUndefined();
  });
});

describe('overload from the servers\' own numbers (queue 5, the default; KV 0.8 set)', () => {
  it('a server past its queue or KV threshold takes nothing new; all of them: held until a scrape says otherwise', () => {
    const { c, byPort } = cluster(pool('{ kvUsage: 0.8 }'));
    const [a, b] = [byPort(9101), byPort(9102)];
    ready(a);
    ready(b);
    const [la, lb] = [withLoad(a), withLoad(b)];
    la.set({ queued: 7, kvUsage: 0.5, at: 1 });
    lb.set({ queued: 0, kvUsage: 0.3, at: 1 });
    for (let i = 0; i < 3; i++) expect(c.pick(request())).toBe(b);
    lb.set({ queued: 0, kvUsage: 0.85, at: 2 });
    const held = request();
    expect(c.pick(held)).toBeInstanceOf(Queued);
    // A response end on a server still past its KV threshold frees nothing.
    end(c, b);
    expect(held.slots).toBe(0);
    la.set({ queued: 2, kvUsage: 0.5, at: 3 });
    c.loadChanged();
    expect(held.slots).toBe(1);
    expect(c.pick(held)).toBe(a);
  });

  it('between scrapes, what infergate sends counts: a burst does not all land on a server that said "4 waiting"', () => {
    const { c, byPort } = cluster(pool('{}'));
    const [a, b] = [byPort(9101), byPort(9102)];
    ready(a);
    ready(b);
    withLoad(a).set({ queued: 4, at: 1 });
    withLoad(b).set({ queued: 4, at: 1 });
    const picked = [c.pick(request()), c.pick(request()), c.pick(request())];
    expect(picked.slice(0, 2).sort()).toEqual([a, b].sort());
    expect(picked[2]).toBeInstanceOf(Queued);
  });

  it('the default does not judge KV use: a server at 95 % KV with nothing waiting takes requests', () => {
    const { c, byPort } = cluster(pool('{}'));
    const a = byPort(9101);
    ready(a);
    withLoad(a).set({ queued: 0, kvUsage: 0.95, at: 1 });
    expect(c.pick(request())).toBe(a);
  });

  it('with no signal from any server and the in-flight fallback off (the defaults), nothing changes: no hold, no shed', () => {
    const { c, byPort } = cluster(pool('{}'));
    ready(byPort(9101));
    ready(byPort(9102));
    for (let i = 0; i < 50; i++) expect(c.pick(request({ headers: { 'x-infergate-priority': 'low' } }))).not.toBeInstanceOf(Queued);
  });

  it('overload: false turns it off: servers past every threshold still take requests', () => {
    const { c, byPort } = cluster(pool('false'));
    const a = byPort(9101);
    ready(a);
    withLoad(a).set({ queued: 100, kvUsage: 1, at: 1 });
    expect(c.pick(request())).toBe(a);
  });
});

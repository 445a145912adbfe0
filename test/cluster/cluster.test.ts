// Cluster: pick() takes only backends that can serve, falls back across groups, queues; report() frees slots and
// feeds outlier detection and the canary analysis; every state change is published once with its source.
import { expect, it } from 'vitest';
import { Backend } from '../../src/backends/backend.js';
import { Queued } from '../../src/cluster/cluster.js';
import { Failures } from '../../src/proxy/failures.js';
import { yaml } from '../config/helpers.js';
import type { PickRequest } from '../../src/cluster/cluster.js';
import { cluster, ready, request } from './support.js';

const two = yaml('pools:', '  p:', '    balance: round-robin', '    backends: [http://127.0.0.1:9101, http://127.0.0.1:9102]');

it('picks only READY backends and counts the request in flight until its attempt ends', () => {
  const { c, byPort } = cluster(two);
  expect(c.pick(request({ mayQueue: false }))).toBe('no-ready-backend');
  ready(byPort(9102));
  const picked = c.pick(request());
  expect(picked).toBe(byPort(9102));
  expect(byPort(9102).inflight).toBe(1);
  c.report('end', { backend: byPort(9102), status: 200, latencyMs: 3, failure: null });
  expect(byPort(9102).inflight).toBe(0);
  expect(byPort(9102).requests).toBe(1);
});

it('never picks a backend the request already tried', () => {
  const { c, byPort } = cluster(two);
  ready(byPort(9101));
  ready(byPort(9102));
  for (let i = 0; i < 4; i++) expect(c.pick(request({ tried: [byPort(9101)] }))).toBe(byPort(9102));
  expect(c.pick(request({ tried: [byPort(9101), byPort(9102)], mayQueue: false }))).toBe('no-ready-backend');
});

it('publishes each visible change once, with the health source that caused it', () => {
  const { c, seen, byPort } = cluster(two);
  const b = byPort(9101);
  ready(b);
  c.operator(b, true);
  c.operator(b, true);
  c.operator(b, false);
  const states = seen.filter((e) => e.type === 'state').map((e) => e.type === 'state' && [e.source, e.from, e.to]);
  expect(states).toEqual([
    ['push', 'LOADING', 'READY'],
    ['operator', 'READY', 'DRAINING'],
    ['operator', 'DRAINING', 'READY'],
  ]);
});

const canary = yaml(
  'pools:', '  p:', '    balance: round-robin', '    groups:',
  '      stable: { weight: 50, backends: [http://127.0.0.1:9101] }',
  '      canary: { weight: 50, backends: [http://127.0.0.1:9201] }',
);

it('a group without a backend able to serve falls back to another group, counted; a pinned request does not', () => {
  const { c, seen, byPort } = cluster(canary);
  ready(byPort(9101));
  const canaryGroup = c.group('canary')!;
  const r = request({ choice: { group: canaryGroup, pinned: false } });
  expect(c.pick(r)).toBe(byPort(9101));
  expect(seen.filter((e) => e.type === 'group-fallback')).toEqual([{ type: 'group-fallback', pool: 'p', group: 'canary' }]);
  expect(c.pick(request({ choice: { group: canaryGroup, pinned: true }, mayQueue: false }))).toBe('no-ready-backend');
});

const queued = yaml('pools:', '  p:', '    backends: [http://127.0.0.1:9101]', '    queue: { max: 1, timeout: 5s }');

it('queues while nothing can serve, hands the slot over when a backend becomes READY, refuses past the queue size', () => {
  const { c, byPort } = cluster(queued);
  const first = request();
  expect(c.pick(first)).toBeInstanceOf(Queued);
  expect(c.pick(request())).toBe('queue-full');
  ready(byPort(9101));
  expect(first.slots).toBe(1);
});

it('a cancelled waiter is not woken; the queue times out on the injected clock', () => {
  const { c, clock, byPort } = cluster(queued);
  const gone = request();
  const q = c.pick(gone) as Queued;
  q.cancel();
  const waiting = request();
  c.pick(waiting);
  clock.advance(5000);
  expect(waiting.timeouts).toBe(1);
  ready(byPort(9101));
  expect(gone.slots + waiting.slots).toBe(0);
});

const fifty = yaml(
  'pools:', '  p:', '    maxConcurrent: 1', '    queue: { max: 10, timeout: 5s }',
  `    backends: [${Array.from({ length: 50 }, (_, i) => `http://127.0.0.1:${9101 + i}`).join(', ')}]`,
);

it('in a saturated pool, a response end hands its own slot to the next waiter without asking the other backends', () => {
  const { c } = cluster(fifty);
  for (const b of c.backends) ready(b);
  for (let i = 0; i < 50; i++) expect(c.pick(request())).toBeInstanceOf(Backend);
  // Waiters take their slot as the proxy's exchange does: by picking again (the balancer's scan is its own choice).
  let picking = false;
  const served: unknown[] = [];
  const waiter = (): PickRequest & { slots: number } => {
    const r = request({
      onSlot() {
        r.slots++;
        picking = true;
        served.push(c.pick(r));
        picking = false;
      },
    });
    return r;
  };
  const [w1, w2] = [waiter(), waiter()];
  expect(c.pick(w1)).toBeInstanceOf(Queued);
  expect(c.pick(w2)).toBeInstanceOf(Queued);
  // Count what is asked of backends other than the one whose request ended, outside the waiters' own picks.
  let freed = c.backends[17]!;
  let askedOutsidePick = 0;
  for (const b of c.backends) {
    const accepts = b.acceptsRequest.bind(b);
    b.acceptsRequest = () => {
      if (!picking && b !== freed) askedOutsidePick++;
      return accepts();
    };
  }
  c.report('end', { backend: freed, status: 200, latencyMs: 1, failure: null });
  expect(served).toEqual([freed]);
  expect([w1.slots, w2.slots]).toEqual([1, 0]);
  expect(askedOutsidePick).toBe(0);
  // The next end anywhere serves the second waiter.
  const first = freed;
  freed = c.backends[40]!;
  c.report('end', { backend: freed, status: 200, latencyMs: 1, failure: null });
  expect(served).toEqual([first, freed]);
  expect(askedOutsidePick).toBe(0);
});

it('a retry that has not tried every backend may wait in the queue; one that has is refused at once', () => {
  const { c, byPort } = cluster(yaml('pools:', '  p:', '    maxConcurrent: 1', '    backends: [http://127.0.0.1:9101, http://127.0.0.1:9102]'));
  const [a, b] = [byPort(9101), byPort(9102)];
  ready(a);
  ready(b);
  c.pick(request());
  c.pick(request());
  expect(c.pick(request({ tried: [a] }))).toBeInstanceOf(Queued);
  expect(c.pick(request({ tried: [a, b] }))).toBe('no-ready-backend');
  expect(c.pick(request({ tried: [a, a] }))).toBeInstanceOf(Queued);
});

it('feeds the canary analysis once per attempt: failures of retried attempts too, nothing for the client leaving', () => {
  const { c, recorded, byPort } = cluster(two);
  const b = byPort(9101);
  ready(b);
  const attempt = (status: number, failure: (typeof Failures)[keyof typeof Failures] | null): void => {
    c.pick(request());
    if (status > 0) c.report('response', { backend: b, status, latencyMs: 4, failure: null });
    c.report('end', { backend: b, status, latencyMs: status > 0 ? 4 : -1, failure });
  };
  attempt(200, null);
  attempt(0, Failures.connectRefused);
  attempt(503, Failures.upstreamUnavailable);
  attempt(200, Failures.clientClosed);
  attempt(500, null);
  expect(recorded).toEqual([
    { group: 'default', ok: true, latencyMs: 4 },
    { group: 'default', ok: false, latencyMs: -1 },
    { group: 'default', ok: false, latencyMs: -1 },
    { group: 'default', ok: false, latencyMs: 4 },
  ]);
  expect(b.errors).toBe(3);
  expect(b.inflight).toBe(0);
});

const ejecting = yaml('pools:', '  p:', '    backends: [http://127.0.0.1:9101, http://127.0.0.1:9102]', '    outlier: { consecutive5xx: 2, maxEjectionPercent: 50, baseEjectionTime: 10s }');

it('ejects on the failing responses themselves, stores the ejection once (the backend flag), and probes at its end', () => {
  const { c, clock, seen, probed, byPort, outliers } = cluster(ejecting);
  c.start();
  const [a, b] = [byPort(9101), byPort(9102)];
  ready(a);
  ready(b);
  for (let i = 0; i < 2; i++) c.report('response', { backend: a, status: 500, latencyMs: 1, failure: null });
  expect(a.state()).toBe('EJECTED');
  expect(a.isEjected()).toBe(true);
  expect(outliers!.view(a).ejectedUntilMs).toBe(10_000);
  expect(seen.some((e) => e.type === 'state' && e.source === 'outlier' && e.to === 'EJECTED')).toBe(true);
  clock.advance(10_000);
  // Back through its readiness probe (UNREADY), probed at once.
  expect(a.state()).toBe('UNREADY');
  expect(probed).toEqual([a.id]);
});

it('discovery adds members LOADING and drains the ones gone, publishing the change', () => {
  const { c, seen, byPort } = cluster(two);
  const keep = byPort(9101);
  c.setMembers('default', ['http://127.0.0.1:9101', 'http://127.0.0.1:9103'], (o) => ({ id: `p.default.${o}`, url: new URL(o), origin: o, weight: 1, maxConcurrent: 0 }), 'test');
  expect(c.backends.map((b) => b.origin)).toEqual(['http://127.0.0.1:9101', 'http://127.0.0.1:9103']);
  expect(c.backends[0]).toBe(keep);
  expect(c.backends[1]).toBeInstanceOf(Backend);
  expect(c.backends[1]!.state()).toBe('LOADING');
  const members = seen.find((e) => e.type === 'members');
  expect(members?.type === 'members' && members.removed.map((b) => [b.origin, b.state()])).toEqual([['http://127.0.0.1:9102', 'DRAINING']]);
});

it('holds a READY backend for re-verification on a refused or reset connection and on a 503, not on other failures', () => {
  const { c, reverified, byPort } = cluster(two);
  const b = byPort(9101);
  ready(b);
  const attempt = (status: number, failure: (typeof Failures)[keyof typeof Failures] | null): void => {
    c.pick(request());
    if (status > 0) c.report('response', { backend: b, status, latencyMs: 4, failure: null });
    c.report('end', { backend: b, status, latencyMs: 4, failure });
  };
  attempt(0, Failures.firstByteTimeout);
  attempt(500, null);
  attempt(0, Failures.connectRefused);
  attempt(0, Failures.upstreamReset);
  attempt(503, null);
  expect(reverified).toEqual([`${b.id}: connection refused`, `${b.id}: connection reset`, `${b.id}: it answered 503`]);
});

it('holds a backend that closed a pooled connection: the next new one may reach another process', async () => {
  const http = await import('node:http');
  const server = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  const { c, reverified } = cluster(yaml('pools:', '  p:', `    backends: [http://127.0.0.1:${port}]`));
  const b = c.backends[0]!;
  ready(b);
  const res = await b.dispatcher.request({ path: '/', method: 'GET' });
  await res.body.text();
  expect(reverified).toEqual([]);
  server.closeIdleConnections();
  await new Promise<void>((r) => server.close(() => r()));
  for (let i = 0; i < 50 && reverified.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  expect(reverified).toEqual([`${b.id}: the backend closed a pooled connection`]);
  await b.destroy();
});

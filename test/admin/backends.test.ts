// GET /admin/backends: every backend with the fields DESIGN.md fixes, and stable ids pool.group.host:port.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { startStack, type Stack } from '../helpers/stack.js';

// The proxy's clock: probes run once (the next is 1 s away and never comes), and latencies are what the backends say.
const clock = new ManualClock();
let s1: TestBackend;
let s2: TestBackend;
let c1: TestBackend;
let stack: Stack;

/** Answers after `ms` on the proxy's clock (requests are sent one at a time); /fail answers 500. */
const takes = (ms: number) => (req: IncomingMessage, res: ServerResponse): void => {
  clock.advance(ms);
  res.writeHead(req.url === '/fail' ? 500 : 200);
  res.end('x');
};

beforeAll(async () => {
  s1 = await startBackend(takes(20));
  s2 = await startBackend();
  s2.setHealth(503);
  c1 = await startBackend(takes(40));
  stack = await startStack(`
pools:
  mlp:
    retry: { attempts: 1 }
    pinHeader: { allow: [stable, canary] }
    health: { jitter: 0, readiness: { path: /health, interval: 1s, timeout: 2s } }
    groups:
      stable: { weight: 90, backends: [${s1.url}, { url: ${s2.url}, weight: 3 }] }
      canary: { weight: 10, backends: [${c1.url}] }
`, { deps: { clock } });
  // s2's first probe (failing) is done once its next one has been scheduled: three "next probe" timers set.
  await clock.waitFor(1000, 3);
  const send = async (group: string, path: string): Promise<void> => void (await (await fetch(`${stack.url}${path}`, { headers: { 'x-infergate-group': group } })).text());
  await send('canary', '/ok');
  await send('canary', '/fail');
  for (let i = 0; i < 3; i++) await send('stable', '/ok');
});
afterAll(async () => {
  await stack.close();
  await Promise.all([s1.close(), s2.close(), c1.close()]);
});

test('the list has every backend with the contract fields', async () => {
  const res = await fetch(`${stack.adminUrl}/admin/backends`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/json');
  const { backends } = (await res.json()) as { backends: Array<Record<string, unknown>> };
  expect(backends.map((b) => b.id)).toEqual([
    `mlp.stable.127.0.0.1:${s1.port}`,
    `mlp.stable.127.0.0.1:${s2.port}`,
    `mlp.canary.127.0.0.1:${c1.port}`,
  ]);
  for (const b of backends) {
    for (const key of ['id', 'pool', 'group', 'url', 'state', 'weight', 'inflight', 'requests', 'errors', 'errorRate', 'latencyMs', 'ejections', 'lastProbe']) expect(b).toHaveProperty(key);
  }
  const [a, b, c] = backends as [Record<string, unknown>, Record<string, unknown>, Record<string, unknown>];
  const common = { pool: 'mlp', inflight: 0, ejections: 0 };
  expect(a).toMatchObject({ ...common, group: 'stable', url: s1.url, state: 'READY', weight: 1, requests: 3, errors: 0, errorRate: 0 });
  expect(b).toMatchObject({ ...common, group: 'stable', url: s2.url, state: 'LOADING', weight: 3, requests: 0, errors: 0, errorRate: 0, latencyMs: 0 });
  expect(c).toMatchObject({ ...common, group: 'canary', url: c1.url, state: 'READY', weight: 1, requests: 2, errors: 1, errorRate: 0.5 });
  // Peak EWMA (tau 10 s) read now: s1's last answer ended just now; c1's last (a 500) was followed by s1's 60 ms.
  expect(a.latencyMs).toBe(20);
  // c's last answer was a 500: a failure counts as a 1 s sample (a fast error must not look fast), decayed since.
  expect(c.latencyMs).toBe(Math.round(1000 * Math.exp(-60 / 10_000) * 100) / 100);
  // Every probe ran at t=0 on the proxy's clock.
  expect(a.lastProbe).toEqual({ ok: true, status: 200, error: null, at: 1_700_000_000_000, role: 'readiness', path: '/health', ms: 0 });
  expect(b.lastProbe).toMatchObject({ ok: false, status: 503, error: 'status 503', at: 1_700_000_000_000 });
  expect(b.stateReason).toBe('waiting for the first passing readiness check');
});

test('ids survive a reload (a backend computes its own id to call back)', async () => {
  // Its own stack: a reload starts fresh latency figures, which the test above reads.
  const ownClock = new ManualClock();
  const own = await startStack(`
pools:
  mlp:
    health: { jitter: 0, readiness: { path: /health, interval: 1h } }
    groups:
      stable: { weight: 90, backends: [${s1.url}, ${s2.url}] }
      canary: { weight: 10, backends: [${c1.url}] }
`, { deps: { clock: ownClock } });
  try {
    await ownClock.waitFor(3_600_000, 3); // every first probe done
    own.app.reload(own.app.config);
    const { backends } = (await (await fetch(`${own.adminUrl}/admin/backends`)).json()) as { backends: Array<{ id: string; state: string }> };
    expect(backends.map((b) => [b.id, b.state])).toEqual([
      [`mlp.stable.127.0.0.1:${s1.port}`, 'READY'],
      [`mlp.stable.127.0.0.1:${s2.port}`, 'LOADING'],
      [`mlp.canary.127.0.0.1:${c1.port}`, 'READY'],
    ]);
  } finally {
    await own.close();
  }
});

// GET /admin/backends: every backend with the fields DESIGN.md fixes, and stable ids pool.group.host:port.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { startHealthBackend, type HealthBackend } from '../health/health-backend.js';

let s1: HealthBackend;
let s2: HealthBackend;
let c1: HealthBackend;
let stack: Stack;

beforeAll(async () => {
  s1 = await startHealthBackend();
  s2 = await startHealthBackend({ status: 503 });
  c1 = await startHealthBackend();
  stack = await startStack(`
pools:
  mlp:
    health: { readiness: { path: /health, interval: 1s, timeout: 1s } }
    groups:
      stable: { weight: 90, backends: [${s1.url}, { url: ${s2.url}, weight: 3 }] }
      canary: { weight: 10, backends: [${c1.url}] }
`);
  // Both healthy backends have been probed once, and s2 once (failing).
  await stack.waitForLog((l) => l.msg === 'backend state changed' && l.backend === `mlp.canary.127.0.0.1:${c1.port}`);
  await stack.waitForLog((l) => l.msg === 'backend state changed' && l.backend === `mlp.stable.127.0.0.1:${s1.port}`);
  await s2.waitProbes(1);
  for (let i = 0; i < 4; i++) await (await fetch(`${stack.url}/x`)).text();
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
    for (const key of ['id', 'pool', 'group', 'url', 'state', 'weight', 'inflight', 'requests', 'errors', 'ejections', 'lastProbe']) expect(b).toHaveProperty(key);
    expect(b.pool).toBe('mlp');
    expect(b.inflight).toBe(0);
    expect(b.ejections).toBe(0);
    expect(typeof b.errorRate).toBe('number');
    expect(typeof b.latencyMs).toBe('number');
  }
  const [a, b, c] = backends as [Record<string, unknown>, Record<string, unknown>, Record<string, unknown>];
  expect(a).toMatchObject({ group: 'stable', url: s1.url, state: 'READY', weight: 1 });
  expect(b).toMatchObject({ group: 'stable', url: s2.url, state: 'LOADING', weight: 3, requests: 0 });
  expect(c).toMatchObject({ group: 'canary', url: c1.url, state: 'READY', weight: 1 });
  expect((a.requests as number) + (c.requests as number)).toBe(4);
  expect(a.lastProbe).toMatchObject({ ok: true, status: 200, error: null });
  expect(typeof (a.lastProbe as { at: unknown }).at).toBe('number');
  expect(b.lastProbe).toMatchObject({ ok: false, status: 503, error: 'status 503' });
  expect(b.stateReason).toBe('waiting for the first passing readiness check');
});

test('ids survive a reload (a backend computes its own id to call back)', async () => {
  stack.app.reload(stack.app.config);
  const { backends } = (await (await fetch(`${stack.adminUrl}/admin/backends`)).json()) as { backends: Array<{ id: string; state: string }> };
  expect(backends.map((b) => b.id)).toEqual([`mlp.stable.127.0.0.1:${s1.port}`, `mlp.stable.127.0.0.1:${s2.port}`, `mlp.canary.127.0.0.1:${c1.port}`]);
  expect(backends[0]!.state).toBe('READY');
});

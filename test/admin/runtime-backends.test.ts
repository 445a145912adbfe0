// Add and remove backends at run time (POST /admin/pools/{pool}/groups/{group}/backends, DELETE /admin/backends/{id}):
// through the cluster's membership path, reported in /admin/backends, logged, and gone at the next reload.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { startStack, type Stack } from '../helpers/stack.js';

let a: TestBackend;
let b: TestBackend;
let extra: TestBackend;
let stack: Stack;
const headers = { 'content-type': 'application/json' };

interface View {
  id: string;
  state: string;
  runtime: boolean;
  weight: number;
}

beforeAll(async () => {
  [a, b, extra] = await Promise.all([startBackend(), startBackend(), startBackend()]);
  stack = await startStack(`
pools:
  p:
    balance: round-robin
    health: { readiness: { path: /health, interval: 100ms, healthyThreshold: 1 } }
    backends: [${a.url}, ${b.url}]
`);
});
afterAll(async () => {
  await stack.close();
  await Promise.all([a.close(), b.close(), extra.close()]);
});

const id = (t: TestBackend): string => `p.default.127.0.0.1:${t.port}`;

async function list(): Promise<{ backends: View[]; removedAtRuntime: string[] }> {
  return (await (await fetch(`${stack.adminUrl}/admin/backends`)).json()) as { backends: View[]; removedAtRuntime: string[] };
}

function add(body: unknown, group = 'default'): Promise<Response> {
  return fetch(`${stack.adminUrl}/admin/pools/p/groups/${group}/backends`, { method: 'POST', headers, body: JSON.stringify(body) });
}

test('an added backend starts LOADING, earns READY by its probes, takes traffic, and says runtime: true', async () => {
  const res = await add({ url: extra.url, weight: 2 });
  expect(res.status).toBe(201);
  const body = (await res.json()) as { backend: View; untilReload: boolean };
  expect(body).toMatchObject({ backend: { id: id(extra), runtime: true, weight: 2 }, untilReload: true });
  expect(body.backend.state).not.toBe('READY');
  await stack.waitForLog((l) => l.msg === 'backend added at run time (until the next reload)' && l.backend === id(extra));
  await stack.waitForLog((l) => l.msg === 'backend state changed' && l.backend === id(extra) && l.to === 'READY');
  for (let i = 0; i < 8; i++) await fetch(`${stack.url}/x`);
  expect(extra.requests.length).toBeGreaterThan(0);
  const views = (await list()).backends;
  expect(views.find((v) => v.id === id(extra))).toMatchObject({ runtime: true, state: 'READY' });
  expect(views.find((v) => v.id === id(a))!.runtime).toBe(false);
});

test.each([
  [{ url: 'http://127.0.0.1:1/path' }, 400, 'bad-request'],
  [{ url: 42 }, 400, 'bad-request'],
  [{ url: 'http://127.0.0.1:1', weight: -2 }, 400, 'bad-request'],
])('%j: %i %s', async (body, status, code) => {
  const res = await add(body);
  expect(res.status).toBe(status);
  expect(await res.json()).toMatchObject({ error: code });
});

test('adding a backend that is already there is 409; an unknown group 404', async () => {
  expect((await add({ url: a.url })).status).toBe(409);
  expect((await add({ url: 'http://127.0.0.1:1' }, 'nope')).status).toBe(404);
});

test('a removed backend leaves routing at once and is listed in removedAtRuntime; unknown ids are 404', async () => {
  const res = await fetch(`${stack.adminUrl}/admin/backends/${encodeURIComponent(id(b))}`, { method: 'DELETE' });
  expect(res.status).toBe(200);
  expect(await res.json()).toMatchObject({ removed: { id: id(b) }, untilReload: true });
  await stack.waitForLog((l) => l.msg === 'backend removed at run time (until the next reload)' && l.backend === id(b));
  const before = b.requests.length;
  for (let i = 0; i < 6; i++) expect((await fetch(`${stack.url}/x`)).status).toBe(200);
  expect(b.requests.length).toBe(before);
  const after = await list();
  expect(after.backends.map((v) => v.id)).not.toContain(id(b));
  expect(after.removedAtRuntime).toEqual([id(b)]);
  expect((await fetch(`${stack.adminUrl}/admin/backends/${encodeURIComponent(id(b))}`, { method: 'DELETE' })).status).toBe(404);
});

test('a reload goes back to the configured backends, and logs what it dropped', async () => {
  stack.app.reload(stack.app.config);
  const line = await stack.waitForLog((l) => l.msg === 'configuration reloaded: run-time admin changes dropped');
  expect(line.dropped).toMatchObject({ added: [id(extra)], removed: [id(b)] });
  const after = await list();
  expect(after.backends.map((v) => v.id).sort()).toEqual([id(a), id(b)].sort());
  expect(after.removedAtRuntime).toEqual([]);
  expect(after.backends.every((v) => !v.runtime)).toBe(true);
});

test('a discovered group refuses run-time members (409): its members come from DNS', async () => {
  const own = await startStack(`
pools:
  d:
    health: { readiness: { path: /health, interval: 100ms } }
    discover: { dns: models.internal, port: ${a.port}, interval: 1s }
`, { waitReady: false, deps: { resolve: async () => ['127.0.0.1'] } });
  try {
    const res = await fetch(`${own.adminUrl}/admin/pools/d/groups/default/backends`, { method: 'POST', headers, body: JSON.stringify({ url: extra.url }) });
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ error: 'discovered-group' });
  } finally {
    await own.close();
  }
});

// POST /admin/backends/{id}/weight {"weight": n}: a backend's weight at run time, shown in /admin/backends, until the next reload.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { startStack, type Stack } from '../helpers/stack.js';

let a: TestBackend;
let b: TestBackend;
let stack: Stack;
const auth = { authorization: 'Bearer s3cret', 'content-type': 'application/json' };

beforeAll(async () => {
  [a, b] = await Promise.all([startBackend(), startBackend()]);
  stack = await startStack(`
admin: { listen: 127.0.0.1:0, token: s3cret }
pools:
  p:
    balance: round-robin
    health: { readiness: { path: /health, interval: 100ms, healthyThreshold: 1 } }
    backends: [${a.url}, ${b.url}]
`);
});
afterAll(async () => {
  await stack.close();
  await Promise.all([a.close(), b.close()]);
});

const idA = (): string => `p.default.127.0.0.1:${a.port}`;

function setWeight(id: string, body: unknown, headers: Record<string, string> = auth): Promise<Response> {
  return fetch(`${stack.adminUrl}/admin/backends/${encodeURIComponent(id)}/weight`, { method: 'POST', headers, body: JSON.stringify(body) });
}

test('needs the token', async () => {
  expect((await setWeight(idA(), { weight: 0 }, { 'content-type': 'application/json' })).status).toBe(401);
});

test.each([[{ weight: -1 }], [{ weight: 1001 }], [{ weight: 1.5 }], [{ weight: '3' }], [{}], ['not an object']])('400 for %j', async (body) => {
  const res = await setWeight(idA(), body);
  expect(res.status).toBe(400);
  expect(await res.json()).toMatchObject({ error: 'bad-request' });
});

test('404 for an unknown backend', async () => {
  const res = await setWeight('p.default.127.0.0.1:1', { weight: 3 });
  expect(res.status).toBe(404);
  expect(await res.json()).toMatchObject({ error: 'unknown-backend' });
});

test('weight 0 takes the backend out of new traffic; /admin/backends shows the configured weight; a reload restores it', async () => {
  const res = await setWeight(idA(), { weight: 0 });
  expect(res.status).toBe(200);
  expect(await res.json()).toMatchObject({ backend: { id: idA(), weight: 0, configuredWeight: 1 } });
  await stack.waitForLog((l) => l.msg === 'backend weight changed at run time (until the next reload)' && l.backend === idA());

  const before = a.requests.length;
  for (let i = 0; i < 6; i++) expect((await fetch(`${stack.url}/x`)).status).toBe(200);
  expect(a.requests.length).toBe(before);

  const list = (await (await fetch(`${stack.adminUrl}/admin/backends`, { headers: auth })).json()) as { backends: Array<{ id: string; weight: number; configuredWeight: number | null }> };
  expect(list.backends.find((x) => x.id === idA())).toMatchObject({ weight: 0, configuredWeight: 1 });

  stack.app.reload(stack.app.config);
  expect(stack.app.backend(idA())!.weight).toBe(1);
  const after = (await (await fetch(`${stack.adminUrl}/admin/backends`, { headers: auth })).json()) as { backends: Array<{ id: string; configuredWeight: number | null }> };
  expect(after.backends.find((x) => x.id === idA())!.configuredWeight).toBeNull();
  await stack.waitForLog((l) => l.msg === 'configuration reloaded: run-time admin changes dropped');
});

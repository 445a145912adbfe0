// GET /status: a self-refreshing HTML page served from the admin listener, reading the JSON API it links to.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { startStack, type Stack } from '../helpers/stack.js';

let backend: TestBackend;
let stack: Stack;

beforeAll(async () => {
  backend = await startBackend();
  stack = await startStack(`
admin: { listen: 127.0.0.1:0, token: s3cret }
pools:
  p:
    health: { readiness: { path: /health, interval: 100ms } }
    backends: [${backend.url}]
`);
});
afterAll(async () => {
  await stack.close();
  await backend.close();
});

test('serves an HTML page that refreshes itself from /admin/backends and /admin/rollouts', async () => {
  const res = await fetch(`${stack.adminUrl}/status`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/html/);
  const html = await res.text();
  expect(html).toContain('<title>infergate status</title>');
  expect(html).toContain("get('/admin/backends')");
  expect(html).toContain("get('/admin/rollouts')");
  expect(html).toMatch(/setInterval\(refresh, \d+\)/);
});

test('the data behind it needs the token the page passes on (?token= becomes a bearer header)', async () => {
  expect((await fetch(`${stack.adminUrl}/admin/backends`)).status).toBe(401);
  const ok = await fetch(`${stack.adminUrl}/admin/backends`, { headers: { authorization: 'Bearer s3cret' } });
  expect(ok.status).toBe(200);
  const body = (await ok.json()) as { backends: Array<{ state: string }> };
  expect(body.backends[0]!.state).toBe('READY');
  const rollouts = await fetch(`${stack.adminUrl}/admin/rollouts`, { headers: { authorization: 'Bearer s3cret' } });
  expect(await rollouts.json()).toEqual({ rollouts: [] });
});

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

test('the page passes no token itself: its fetches carry the session cookie, and a 401 links to /login', async () => {
  const html = await (await fetch(`${stack.adminUrl}/status`)).text();
  expect(html).not.toContain('location.search');
  expect(html).toContain("credentials: 'same-origin'");
  expect(html).toContain('href="/login"');
});

test('/status?token= is refused (400 token-in-url): a token never travels in a URL', async () => {
  const res = await fetch(`${stack.adminUrl}/status?token=s3cret`);
  expect(res.status).toBe(400);
  expect(await res.json()).toMatchObject({ error: 'token-in-url' });
});

test('the data behind it needs the token', async () => {
  expect((await fetch(`${stack.adminUrl}/admin/backends`)).status).toBe(401);
  const ok = await fetch(`${stack.adminUrl}/admin/backends`, { headers: { authorization: 'Bearer s3cret' } });
  expect(ok.status).toBe(200);
  const body = (await ok.json()) as { backends: Array<{ state: string }> };
  expect(body.backends[0]!.state).toBe('READY');
  const rollouts = await fetch(`${stack.adminUrl}/admin/rollouts`, { headers: { authorization: 'Bearer s3cret' } });
  expect(await rollouts.json()).toEqual({ rollouts: [], coordination: null });
});

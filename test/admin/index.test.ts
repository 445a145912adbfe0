// GET / on the admin listener: the list of endpoints, JSON for programs and HTML for a browser.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startHealthBackend, type HealthBackend } from '../health/health-backend.js';
import { startStack, type Stack } from '../helpers/stack.js';

let target: HealthBackend;
let stack: Stack;

beforeAll(async () => {
  target = await startHealthBackend();
  stack = await startStack(`
admin: { listen: 127.0.0.1:0, token: s3cret-token }
pools:
  p:
    health: { readiness: { path: /health, interval: 1s, timeout: 1s } }
    backends: [${target.url}]
`);
});
afterAll(async () => {
  await stack.close();
  await target.close();
});

test('JSON: every endpoint with its method, whether it needs the token, and what it does (no token needed)', async () => {
  const res = await fetch(`${stack.adminUrl}/`);
  expect(res.status).toBe(200);
  const body = (await res.json()) as { endpoints: Array<{ method: string; path: string; auth: boolean; description: string }> };
  const listed = body.endpoints.map((e) => `${e.method} ${e.path}`);
  for (const e of [
    'GET /healthz', 'GET /readyz', 'GET /metrics', 'GET /status', 'POST /login', 'GET /admin/backends', 'GET /admin/rollouts', 'GET /admin/config',
    'POST /admin/backends/{id}/weight', 'DELETE /admin/backends/{id}', 'POST /admin/pools/{pool}/groups/{group}/backends',
    'POST /admin/pools/{pool}/groups/{group}/weight', 'POST /admin/log-level',
  ]) expect(listed).toContain(e);
  expect(body.endpoints.find((e) => e.path === '/admin/config')!.auth).toBe(true);
  expect(body.endpoints.find((e) => e.path === '/healthz')!.auth).toBe(false);
});

test('HTML for a browser, with links to the GET endpoints', async () => {
  const res = await fetch(`${stack.adminUrl}/`, { headers: { accept: 'text/html,application/xhtml+xml' } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/html/);
  const html = await res.text();
  expect(html).toContain('<a href="/admin/backends">');
  expect(html).toContain('/admin/log-level');
});

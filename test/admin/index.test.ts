// GET / on the admin listener: the list of endpoints, JSON for programs and HTML for a browser.
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Stack } from '../helpers/stack.js';
import { startTokenStack } from './support.js';

let booted: Awaited<ReturnType<typeof startTokenStack>>;
let stack: Stack;

beforeAll(async () => {
  booted = await startTokenStack('s3cret-token');
  stack = booted.stack;
});
afterAll(() => booted.close());

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

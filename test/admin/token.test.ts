// With admin.token set, /admin/* needs "Authorization: Bearer <token>" while /healthz, /readyz and /metrics stay open.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startHealthBackend } from '../health/health-backend.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { startTokenStack } from './support.js';

let booted: Awaited<ReturnType<typeof startTokenStack>>;
let stack: Stack;

beforeAll(async () => {
  booted = await startTokenStack('s3cret-token');
  stack = booted.stack;
});
afterAll(() => booted.close());

test.each([
  ['no header', undefined],
  ['wrong token', 'Bearer s3cret-tokem'],
  ['prefix of the token', 'Bearer s3cret'],
  ['token without Bearer', 's3cret-token'],
  ['other scheme', 'Basic s3cret-token'],
])('401 with %s', async (_name, authorization) => {
  const res = await fetch(`${stack.adminUrl}/admin/backends`, { headers: authorization ? { authorization } : {} });
  expect(res.status).toBe(401);
  expect(res.headers.get('www-authenticate')).toBe('Bearer');
  expect(await res.json()).toMatchObject({ error: 'unauthorised' });
});

test('200 with the right bearer token', async () => {
  const res = await fetch(`${stack.adminUrl}/admin/backends`, { headers: { authorization: 'Bearer s3cret-token' } });
  expect(res.status).toBe(200);
  expect(((await res.json()) as { backends: unknown[] }).backends).toHaveLength(1);
});

test('unknown /admin paths are 401 without the token too (no probing for what exists)', async () => {
  expect((await fetch(`${stack.adminUrl}/admin/nothing-here`)).status).toBe(401);
});

test.each(['/healthz', '/readyz', '/metrics'])('%s needs no token', async (path) => {
  expect((await fetch(stack.adminUrl + path)).status).toBe(200);
});

test('without a token configured, /admin/backends is open', async () => {
  const target = await startHealthBackend();
  const open = await startStack(`
pools:
  p:
    health: { readiness: { path: /health, interval: 1s, timeout: 1s } }
    backends: [${target.url}]
`);
  try {
    expect((await fetch(`${open.adminUrl}/admin/backends`)).status).toBe(200);
  } finally {
    await open.close();
    await target.close();
  }
});

// GET /admin/config: the effective configuration as JSON (defaults filled in, secrets redacted), token-protected like /admin/*.
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Stack } from '../helpers/stack.js';
import { startTokenStack } from './support.js';

let booted: Awaited<ReturnType<typeof startTokenStack>>;
let stack: Stack;
const auth = { authorization: 'Bearer s3cret-token' };

beforeAll(async () => {
  booted = await startTokenStack('s3cret-token');
  stack = booted.stack;
});
afterAll(() => booted.close());

test('401 without the token', async () => {
  expect((await fetch(`${stack.adminUrl}/admin/config`)).status).toBe(401);
});

test('the effective configuration, with defaults and readable durations, and the token redacted', async () => {
  const res = await fetch(`${stack.adminUrl}/admin/config`, { headers: auth });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/json');
  const text = await res.text();
  expect(text).not.toContain('s3cret-token');
  const config = JSON.parse(text) as { admin: { token: unknown }; pools: Record<string, { balance: string; health: { readiness: { interval: unknown } }; outlier: { baseEjectionTime: unknown } }> };
  expect(config.admin.token).toBe('<redacted>');
  expect(config.pools.p).toMatchObject({ balance: 'least-request', health: { readiness: { interval: '1s' } }, outlier: { baseEjectionTime: '30s' } });
});

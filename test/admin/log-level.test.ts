// POST /admin/log-level {"level": "debug"}: the log level at run time, logged, until the next reload.
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Stack } from '../helpers/stack.js';
import { startTokenStack } from './support.js';

let booted: Awaited<ReturnType<typeof startTokenStack>>;
let stack: Stack;

beforeAll(async () => {
  booted = await startTokenStack('s3cret');
  stack = booted.stack;
});
afterAll(() => booted.close());

function setLevel(body: unknown, token = 's3cret'): Promise<Response> {
  return fetch(`${stack.adminUrl}/admin/log-level`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

test('needs the token', async () => {
  expect((await setLevel({ level: 'debug' }, 'wrong')).status).toBe(401);
});

test('400 for an unknown level', async () => {
  const res = await setLevel({ level: 'verbose' });
  expect(res.status).toBe(400);
  expect(await res.json()).toMatchObject({ error: 'bad-request' });
  expect(stack.app.loggers.log.level).toBe('info');
});

test('debug at run time, logged; a reload goes back to the configured level', async () => {
  const res = await setLevel({ level: 'debug' });
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ level: 'debug', configured: 'info', untilReload: true });
  expect(stack.app.loggers.log.level).toBe('debug');
  await stack.waitForLog((l) => l.msg === 'log level changed at run time (until the next reload)' && l.logLevel === 'debug');
  stack.app.reload(stack.app.config);
  expect(stack.app.loggers.log.level).toBe('info');
});

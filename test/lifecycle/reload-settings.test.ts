// A reload applies the settings that need no new listener: admin token, log level, access log, client timeouts.
import { afterEach, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { startStack, type Stack } from '../helpers/stack.js';

let backend: TestBackend;
let stack: Stack;
afterEach(async () => {
  await stack.close();
  await backend.close();
});

const pool = (url: string): string => `
pools:
  p:
    health: { readiness: { path: /health, interval: 1s, timeout: 1s } }
    backends: [${url}]
`;

function config(yaml: string): Config {
  const r = parseConfig(`listen: 127.0.0.1:0\n${yaml}`, 'reload.yaml', {});
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}

test('a token set (then rotated) by a reload protects /admin/* at once', async () => {
  backend = await startBackend();
  stack = await startStack(pool(backend.url));
  expect((await fetch(`${stack.adminUrl}/admin/backends`)).status).toBe(200);
  stack.app.reload(config(`admin: { listen: 127.0.0.1:0, token: first-token }\n${pool(backend.url)}`));
  expect((await fetch(`${stack.adminUrl}/admin/backends`)).status).toBe(401);
  expect((await fetch(`${stack.adminUrl}/admin/backends`, { headers: { authorization: 'Bearer first-token' } })).status).toBe(200);
  stack.app.reload(config(`admin: { listen: 127.0.0.1:0, token: second-token }\n${pool(backend.url)}`));
  expect((await fetch(`${stack.adminUrl}/admin/backends`, { headers: { authorization: 'Bearer first-token' } })).status).toBe(401);
  expect((await fetch(`${stack.adminUrl}/admin/backends`, { headers: { authorization: 'Bearer second-token' } })).status).toBe(200);
});

test('log level and access log follow the new configuration', async () => {
  backend = await startBackend();
  stack = await startStack(pool(backend.url));
  await (await fetch(`${stack.url}/x`, { headers: { 'x-request-id': 'before' } })).text();
  await stack.waitForLog((l) => l.kind === 'access' && l.requestId === 'before');

  stack.app.reload(config(`admin: { listen: 127.0.0.1:0 }\nlog: { level: warn, accessLog: false }\n${pool(backend.url)}`));
  await (await fetch(`${stack.url}/x`, { headers: { 'x-request-id': 'after' } })).text();
  stack.app.loggers.log.info('info marker');
  stack.app.loggers.log.warn('warn marker');
  await stack.waitForLog((l) => l.msg === 'warn marker');
  expect(stack.logs.some((l) => l.requestId === 'after')).toBe(false);
  expect(stack.logs.some((l) => l.msg === 'info marker')).toBe(false);

  stack.app.reload(config(`admin: { listen: 127.0.0.1:0 }\nlog: { level: info, accessLog: true }\n${pool(backend.url)}`));
  await (await fetch(`${stack.url}/x`, { headers: { 'x-request-id': 'again' } })).text();
  await stack.waitForLog((l) => l.kind === 'access' && l.requestId === 'again');
});

test('a reload that arrives during shutdown is ignored (no probers outlive the app)', async () => {
  backend = await startBackend();
  stack = await startStack(pool(backend.url));
  await stack.app.shutdown();
  const before = stack.app.config;
  stack.app.reload(config(`admin: { listen: 127.0.0.1:0 }\n${pool(backend.url)}`));
  expect(stack.app.config).toBe(before);
  expect(stack.logs.some((l) => l.msg === 'configuration reload ignored: shutting down')).toBe(true);
});

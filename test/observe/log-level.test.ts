// `log.level` filters the event log (info lines vanish at warn); the access log follows only `accessLog`.
import { afterEach, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { ManualClock } from '../helpers/manual-clock.js';

let backend: TestBackend;
let stack: Stack;
afterEach(async () => {
  await stack.close();
  await backend.close();
});

test('level warn: no info lines, warn lines kept, access lines kept', async () => {
  backend = await startBackend();
  const clock = new ManualClock();
  stack = await startStack(
    `
log: { level: warn, accessLog: true }
pools:
  p:
    health: { jitter: 0, readiness: { path: /health, interval: 7s, timeout: 1s } }
    backends: [${backend.url}]
`,
    { waitReady: false, deps: { clock } },
  );
  // The READY transition is an info line, so it is filtered: wait for the first probe to be processed.
  await clock.waitFor(7_000, 1);
  expect(stack.app.backend(`p.default.127.0.0.1:${backend.port}`)!.state()).toBe('READY');
  expect((await fetch(`${stack.url}/x`, { headers: { 'x-request-id': 'lvl' } })).status).toBe(200);
  await stack.waitForLog((l) => l.kind === 'access' && l.requestId === 'lvl');
  stack.app.loggers.log.warn('warn marker');
  await stack.waitForLog((l) => l.msg === 'warn marker');
  expect(stack.logs.filter((l) => l.kind !== 'access' && !['warn', 'error', 'fatal'].includes(l.level as string))).toEqual([]);
  expect(stack.logs.some((l) => l.msg === 'infergate started')).toBe(false);
});

test('level debug: debug lines are written', async () => {
  backend = await startBackend();
  stack = await startStack(`
log: { level: debug, accessLog: true }
pools:
  p:
    health: { readiness: { path: /health, interval: 1s, timeout: 1s } }
    backends: [${backend.url}]
`);
  stack.app.loggers.log.debug('debug marker');
  expect(await stack.waitForLog((l) => l.msg === 'debug marker')).toMatchObject({ level: 'debug', service: 'infergate', kind: 'event' });
});

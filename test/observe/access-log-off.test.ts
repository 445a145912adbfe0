// `log: { accessLog: false }` writes no access line, while the event log goes on.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { startStack, type Stack } from '../helpers/stack.js';

let backend: TestBackend;
let stack: Stack;

beforeAll(async () => {
  backend = await startBackend();
  stack = await startStack(`
log: { level: info, accessLog: false }
pools:
  p:
    health: { readiness: { path: /health, interval: 1s, timeout: 1s } }
    backends: [${backend.url}]
`);
});
afterAll(async () => {
  await stack.close();
  await backend.close();
});

test('no access lines; event lines still written', async () => {
  for (let i = 0; i < 3; i++) expect((await fetch(`${stack.url}/x`)).status).toBe(200);
  // A later event line proves the earlier writes were flushed through the same logger.
  stack.app.loggers.log.info('marker');
  await stack.waitForLog((l) => l.msg === 'marker');
  expect(backend.requests).toHaveLength(3);
  expect(stack.logs.filter((l) => l.kind === 'access' || 'requestId' in l)).toEqual([]);
  expect(stack.logs.some((l) => l.msg === 'infergate started')).toBe(true);
});

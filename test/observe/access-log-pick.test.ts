// The access log says why the backend was chosen: the group's pick (single, weighted, sticky, pin), a fallback to another
// group when the request's own had no backend, and a retry (attempts > 1).
import { afterAll, beforeAll, expect, test } from 'vitest';
import { hashUnit } from '../../src/routing/groups.js';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { startStack, type Stack } from '../helpers/stack.js';

let s1: TestBackend;
let s2: TestBackend;
let c1: TestBackend;
let b1: TestBackend;
let stack: Stack;
let resetOnce = true;

beforeAll(async () => {
  const reply = (name: string) => (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): void => {
    // The first /flaky request dies before any byte: a GET is retried on the other stable backend.
    if (req.url === '/a/flaky' && resetOnce) {
      resetOnce = false;
      req.socket.destroy();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(name);
  };
  [s1, s2, c1, b1] = await Promise.all(['s1', 's2', 'c1', 'b1'].map((n) => startBackend(reply(n))));
  stack = await startStack(`
routes:
  - { match: { pathPrefix: /b/ }, pool: b }
  - { match: {}, pool: a }
pools:
  a:
    outlier: false
    sticky: { header: x-user }
    pinHeader: { allow: [canary] }
    health: { readiness: { path: /health, interval: 1s, timeout: 1s } }
    groups:
      stable: { weight: 100, backends: [${s1.url}, ${s2.url}] }
      canary: { weight: 0, backends: [${c1.url}] }
  b:
    outlier: false
    queue: false
    sticky: { header: x-user }
    health: { readiness: { path: /health, interval: 1s, timeout: 1s } }
    groups:
      stable: { weight: 50, backends: [${b1.url}] }
      canary: { weight: 50, backends: [http://127.0.0.1:9] }
`);
  // Every backend of pool a READY (waitReady only waits for one per pool).
  for (const b of [s1, s2, c1]) {
    await stack.waitForLog((l) => l.msg === 'backend state changed' && l.to === 'READY' && String(l.backend).endsWith(`:${b.port}`));
  }
});
afterAll(async () => {
  await stack.close();
  await Promise.all([s1, s2, c1, b1].map((b) => b.close()));
});

async function lineOf(path: string, id: string, headers: Record<string, string> = {}): Promise<Record<string, unknown>> {
  await (await fetch(`${stack.url}${path}`, { headers: { 'x-request-id': id, ...headers } })).text();
  return stack.waitForLog((l) => l.kind === 'access' && l.requestId === id);
}

test('no sticky key: a weighted draw', async () => {
  expect(await lineOf('/a/x', 'w1')).toMatchObject({ pool: 'a', group: 'stable', pick: 'weighted', attempts: 1 });
});

test('a sticky key: sticky', async () => {
  const line = await lineOf('/a/x', 'st1', { 'x-user': 'alice' });
  expect(line).toMatchObject({ pool: 'a', group: 'stable', pick: 'sticky', attempts: 1 });
  expect(line).not.toHaveProperty('fallbackFrom');
});

test('the pin header reaches the canary at weight 0: pin', async () => {
  expect(await lineOf('/a/x', 'pin1', { 'x-infergate-group': 'canary', 'x-user': 'alice' })).toMatchObject({
    group: 'canary', backend: `a.canary.127.0.0.1:${c1.port}`, pick: 'pin', attempts: 1,
  });
});

test('its own group has no backend: another group takes it, and the line says which group it was meant for', async () => {
  // A user whose hash falls in the canary's half of pool b (stable [0, 0.5), canary [0.5, 1)), whose backend never answers.
  const user = Array.from({ length: 100 }, (_, i) => `user-${i}`).find((u) => hashUnit(u) >= 0.5)!;
  expect(await lineOf('/b/x', 'fb1', { 'x-user': user })).toMatchObject({
    status: 200, pool: 'b', group: 'stable', pick: 'sticky', fallbackFrom: 'canary', attempts: 1,
  });
});

test('a retry: attempts 2, the failed attempt\'s code is not the request\'s', async () => {
  const line = await lineOf('/a/flaky', 'retry1');
  expect(line).toMatchObject({ status: 200, upstreamStatus: 200, group: 'stable', pick: 'weighted', attempts: 2 });
  expect(line).not.toHaveProperty('error');
  expect(resetOnce).toBe(false);
});

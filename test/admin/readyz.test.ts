// /readyz: 200 only when every pool has a READY backend, 503 otherwise, and 503 as soon as shutdown begins.
import { afterEach, expect, test } from 'vitest';
import type { ServerResponse } from 'node:http';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { startHealthBackend, type HealthBackend } from '../health/health-backend.js';
import { ManualClock } from '../helpers/manual-clock.js';

let a: HealthBackend;
let b: HealthBackend;
let stack: Stack;
afterEach(async () => {
  await stack.close();
  await a.close();
  await b.close();
});

const readyz = async (s: Stack): Promise<{ status: number; body: unknown }> => {
  const res = await fetch(`${s.adminUrl}/readyz`);
  return { status: res.status, body: await res.json() };
};

test('503 naming the pools without a READY backend until every pool has one', async () => {
  a = await startHealthBackend();
  b = await startHealthBackend({ status: 503 });
  const clock = new ManualClock();
  stack = await startStack(
    `
routes:
  - { match: { pathPrefix: /a/ }, pool: pa }
  - { match: { pathPrefix: /b/ }, pool: pb }
pools:
  pa:
    health: { jitter: 0, readiness: { path: /health, interval: 7s, timeout: 1s, unhealthyThreshold: 1 } }
    backends: [${a.url}]
  pb:
    health: { jitter: 0, readiness: { path: /health, interval: 7s, timeout: 1s, unhealthyThreshold: 1 } }
    backends: [${b.url}]
`,
    { waitReady: false, deps: { clock } },
  );
  await clock.waitFor(7_000, 2);
  expect(await readyz(stack)).toEqual({ status: 503, body: { status: 'not-ready', poolsWithoutReadyBackend: ['pb'] } });

  b.setHealth(200);
  clock.advance(7_000);
  await clock.waitFor(7_000, 4);
  expect(await readyz(stack)).toEqual({ status: 200, body: { status: 'ready' } });

  // One pool losing its only backend is enough to be unready again.
  a.setHealth(500);
  clock.advance(7_000);
  await clock.waitFor(7_000, 6);
  expect(await readyz(stack)).toEqual({ status: 503, body: { status: 'not-ready', poolsWithoutReadyBackend: ['pa'] } });
});

let slow: TestBackend;
test('503 draining from the moment shutdown begins, while requests are still in flight', async () => {
  a = await startHealthBackend();
  b = await startHealthBackend();
  let held: ServerResponse | null = null;
  let arrived!: () => void;
  const reached = new Promise<void>((r) => (arrived = r));
  slow = await startBackend((_req, res) => {
    held = res;
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('part 1;');
    arrived();
  });
  stack = await startStack(`
pools:
  p:
    health: { readiness: { path: /health, interval: 1s, timeout: 1s } }
    backends: [${slow.url}]
`);
  expect((await readyz(stack)).status).toBe(200);
  const pending = fetch(`${stack.url}/stream`).then((r) => r.text());
  await reached;
  const done = stack.app.shutdown();
  expect(await readyz(stack)).toEqual({ status: 503, body: { status: 'draining' } });
  held!.end('part 2');
  expect(await pending).toBe('part 1;part 2');
  await done;
  await slow.close();
});

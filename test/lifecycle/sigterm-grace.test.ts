// shutdown.grace: after SIGTERM infergate keeps accepting and answering (readiness 503, `Connection: close`) until the
// grace period ends on the injected clock, then drains and stops listening.
import net from 'node:net';
import { afterEach, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { onePool, request, waitAllReady } from '../e2e/support.js';

let backend: TestBackend;
let stack: Stack;
afterEach(async () => {
  await stack.close();
  await backend.close();
});

const refused = (port: number): Promise<string | null> =>
  new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => (s.destroy(), resolve(null)));
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });

test('during the grace period: /readyz 503, requests still answered with Connection: close; then the listener closes', async () => {
  backend = await startBackend();
  const clock = new ManualClock();
  stack = await startStack(onePool([backend.url]), { deps: { clock } });
  await waitAllReady(stack);
  let stopped = false;
  const shutdown = stack.app.shutdown({ graceMs: 5000 }).then(() => (stopped = true));
  expect((await fetch(`${stack.adminUrl}/readyz`)).status).toBe(503);
  const during = await request(`${stack.url}/x`);
  expect(during.status).toBe(200);
  expect(during.headers.connection).toBe('close');
  clock.advance(4999);
  expect(await refused(stack.port)).toBe(null);
  expect(stopped).toBe(false);
  clock.advance(1);
  await shutdown;
  expect(await refused(stack.port)).toBe('ECONNREFUSED');
});

test('the default grace is 5 s, applied to SIGTERM only', async () => {
  backend = await startBackend();
  stack = await startStack(onePool([backend.url]));
  expect(stack.app.config.shutdown.graceMs).toBe(5000);
});

// shutdown.drainTimeout bounds the drain: a request still running then is cut and shutdown completes.
import { afterEach, expect, test } from 'vitest';
import { sendRaw } from '../helpers/raw-http.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { startHeldBackend, type HeldBackend } from './held-backend.js';

let held: HeldBackend;
let stack: Stack;
afterEach(async () => {
  await stack.close();
  await held.close();
});

test('a stream longer than drainTimeout is cut when it expires, and only then', async () => {
  held = await startHeldBackend();
  const clock = new ManualClock();
  stack = await startStack(
    `
shutdown: { drainTimeout: 7s }
pools:
  p:
    health: { jitter: 0, readiness: { path: /health, interval: 1m, timeout: 1s } }
    backends: [${held.backend.url}]
`,
    { deps: { clock } },
  );
  const reply = sendRaw(stack.port, 'GET /generate HTTP/1.1\r\nHost: x\r\n\r\n', { timeoutMs: 10_000 });
  await held.arrived(1);
  let stopped = false;
  const shutdown = stack.app.shutdown().then(() => (stopped = true));
  await clock.waitFor(7_000, 1);
  clock.advance(6_999);
  // Still draining: admin answers, the stream is still open.
  expect((await fetch(`${stack.adminUrl}/readyz`)).status).toBe(503);
  expect(stopped).toBe(false);
  clock.advance(1);
  const r = await reply;
  expect(r.timedOut).toBe(false);
  expect(r.closedByServer).toBe(true);
  expect(r.text).toContain('data: 1');
  // Chunked stream without its terminating chunk: the client can tell it was cut.
  expect(r.text).not.toContain('\r\n0\r\n\r\n');
  await shutdown;
  expect(stack.logs.some((l) => l.msg === 'drain timeout reached: remaining connections were closed')).toBe(true);
});

// Graceful drain: readyz 503 at once, new connections refused, the in-flight stream completes, then shutdown resolves.
import net from 'node:net';
import { afterEach, expect, test } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { startHeldBackend, type HeldBackend } from './held-backend.js';
import { openStream } from './stream-client.js';

let held: HeldBackend;
let stack: Stack;
afterEach(async () => {
  await stack.close();
  await held.close();
});

function connectError(port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(null);
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

test('an in-flight streaming request finishes in full while the balancer drains, then its connection closes', async () => {
  held = await startHeldBackend();
  stack = await startStack(`
server: { keepAliveTimeout: 60s }
shutdown: { drainTimeout: 60s }
pools:
  p:
    health: { readiness: { path: /health, interval: 1s, timeout: 1s } }
    backends: [${held.backend.url}]
`);
  // A keep-alive client already reading the stream: its response headers said keep-alive.
  const client = openStream(stack.port, '/generate');
  const upstream = await held.arrived(1);
  await client.received('data: 1');

  let stopped = false;
  const shutdown = stack.app.shutdown().then(() => (stopped = true));
  const ready = await fetch(`${stack.adminUrl}/readyz`);
  expect(ready.status).toBe(503);
  expect(await ready.json()).toEqual({ status: 'draining' });
  expect(await connectError(stack.port)).toBe('ECONNREFUSED');
  expect(stopped).toBe(false);

  upstream.write('data: 2\n\n');
  upstream.end('data: [DONE]\n\n');
  // With a 60 s keep-alive, only an active close by the draining balancer ends the connection this soon.
  const text = await client.closed;
  expect(text).toMatch(/^HTTP\/1\.1 200/);
  expect(text).toContain('data: 1\n\n');
  expect(text).toContain('data: 2\n\n');
  expect(text).toContain('data: [DONE]\n\n\r\n0\r\n\r\n');
  await shutdown;
  expect(stopped).toBe(true);
  expect(stack.logs.some((l) => l.msg === 'infergate stopped')).toBe(true);
  expect(stack.logs.some((l) => l.msg === 'drain timeout reached: remaining connections were closed')).toBe(false);
});

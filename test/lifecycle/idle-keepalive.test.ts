// On shutdown an idle keep-alive client connection is closed at once, not after keepAliveTimeout.
import net from 'node:net';
import { afterEach, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { startStack, type Stack } from '../helpers/stack.js';

let backend: TestBackend;
let stack: Stack;
afterEach(async () => {
  await stack.close();
  await backend.close();
});

test('idle keep-alive connections close immediately and shutdown resolves without waiting for them', async () => {
  backend = await startBackend();
  stack = await startStack(`
server: { keepAliveTimeout: 60s }
shutdown: { drainTimeout: 60s }
pools:
  p:
    health: { readiness: { path: /health, interval: 1s, timeout: 1s } }
    backends: [${backend.url}]
`);
  const socket = net.connect({ port: stack.port, host: '127.0.0.1' });
  let received = '';
  const answered = new Promise<void>((resolve) => {
    socket.on('data', (c: Buffer) => {
      received += c.toString('latin1');
      if (/\r\n\r\n[\s\S]*"ok":true/.test(received)) resolve();
    });
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => undefined);
  socket.write('GET /x HTTP/1.1\r\nHost: x\r\n\r\n');
  await answered;
  expect(received).toMatch(/^HTTP\/1\.1 200/);
  expect(received.toLowerCase()).toContain('connection: keep-alive');

  // The connection is idle now; with a 60 s keep-alive and drain, only an active close ends this quickly.
  await stack.app.shutdown();
  await closed;
  expect(socket.destroyed).toBe(true);
});

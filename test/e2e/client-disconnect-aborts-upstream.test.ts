// A client that goes away aborts its upstream request at once and frees the backend slot, whatever phase it is in.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, streaming, type TestBackend } from '../helpers/backend.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { accessLine, backends, deferred, metric, onePool, within, type Deferred } from './support.js';

let backend: TestBackend;
let stack: Stack;
/** Per test: resolves with the backend's view of the request once it arrived. */
let arrived: Deferred<{ req: IncomingMessage; res: ServerResponse }>;

beforeAll(async () => {
  backend = await startBackend(
    streaming((req, res) => {
      if (req.url === '/stream') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: first\n\n');
      }
      if (req.url === '/upload') req.once('data', () => arrived.resolve({ req, res }));
      else arrived.resolve({ req, res });
      // Never finishes: only the proxy can end this request.
    }),
  );
  stack = await startStack(onePool([backend.url]));
});
afterAll(async () => {
  await stack.close();
  await backend.close();
});

async function expectFreed(requestId: string, seen: IncomingMessage): Promise<void> {
  await within(new Promise<void>((r) => (seen.socket.destroyed ? r() : seen.socket.once('close', () => r()))), 3000, 'the upstream socket to close');
  const line = await accessLine(stack, requestId);
  expect(line.error).toBe('client-closed');
  expect(backends(stack)[0]!.inflight).toBe(0);
  expect(backends(stack)[0]!.errors).toBe(0); // the client's doing, never held against the backend
  const admin = (await (await fetch(`${stack.adminUrl}/admin/backends`)).json()) as { backends: Array<{ inflight: number }> };
  expect(admin.backends[0]!.inflight).toBe(0);
}

test('while waiting for the response head', async () => {
  arrived = deferred();
  const req = http.get(`${stack.url}/wait`, { agent: false, headers: { 'x-request-id': 'gone-1' } });
  req.on('error', () => {});
  const { req: seen } = await within(arrived.promise, 3000, 'the request at the backend');
  req.destroy();
  await expectFreed('gone-1', seen);
  expect((await accessLine(stack, 'gone-1')).status).toBe(499);
});

test('while the response streams', async () => {
  arrived = deferred();
  const firstChunk = deferred();
  const req = http.get(`${stack.url}/stream`, { agent: false, headers: { 'x-request-id': 'gone-2' } }, (res) => res.once('data', () => firstChunk.resolve()));
  req.on('error', () => {});
  const { req: seen } = await within(arrived.promise, 3000, 'the request at the backend');
  await within(firstChunk.promise, 3000, 'the first streamed chunk');
  req.destroy();
  await expectFreed('gone-2', seen);
});

test('while the request body uploads', async () => {
  arrived = deferred();
  const socket = net.connect(stack.port, '127.0.0.1');
  socket.on('error', () => {});
  socket.write('POST /upload HTTP/1.1\r\nHost: x\r\nX-Request-Id: gone-3\r\nContent-Length: 10000000\r\n\r\n' + 'x'.repeat(1000));
  const { req: seen } = await within(arrived.promise, 3000, 'the first body bytes at the backend');
  socket.destroy();
  await expectFreed('gone-3', seen);
  expect(await metric(stack, 'infergate_errors_total', { pool: 'p', kind: 'client-closed' })).toBe(3);
  expect(await metric(stack, 'infergate_errors_total', { pool: 'p', kind: 'upstream-reset' })).toBe(0);
});

test('while a replayable body is still being buffered (nothing sent upstream yet)', async () => {
  const socket = net.connect(stack.port, '127.0.0.1');
  socket.on('error', () => {});
  // PUT is retryable and 50000 bytes fit retry.bufferBody (64kb): the proxy keeps the body before sending it.
  socket.write('PUT /buffered HTTP/1.1\r\nHost: x\r\nX-Request-Id: gone-4\r\nContent-Length: 50000\r\n\r\n' + 'x'.repeat(1000), () => socket.destroy());
  const line = await accessLine(stack, 'gone-4');
  expect(line).toMatchObject({ status: 499, error: 'client-closed', attempts: 0 });
  expect(backends(stack)[0]!.inflight).toBe(0);
  expect(backend.requests.map((r) => r.url)).not.toContain('/buffered');
});

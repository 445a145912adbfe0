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

/** Counters before a test, so each test checks only what it caused (whichever ran before it). */
interface Baseline {
  errors: number;
  clientClosed: number;
  upstreamReset: number;
}

async function baseline(): Promise<Baseline> {
  return {
    errors: backends(stack)[0]!.errors,
    clientClosed: await metric(stack, 'infergate_errors_total', { pool: 'p', kind: 'client-closed' }),
    upstreamReset: await metric(stack, 'infergate_errors_total', { pool: 'p', kind: 'upstream-reset' }),
  };
}

function upstreamClosed(seen: IncomingMessage): Promise<void> {
  return within(new Promise<void>((r) => (seen.socket.destroyed ? r() : seen.socket.once('close', () => r()))), 3000, 'the upstream socket to close');
}

/**
 * The slot is free, and exactly one client-closed error was counted, none against the backend. The access log
 * says 499, or the backend's status when its response had started.
 */
async function expectFreed(requestId: string, before: Baseline, status = 499): Promise<void> {
  const line = await accessLine(stack, requestId);
  expect(line).toMatchObject({ status, error: 'client-closed' });
  expect(backends(stack)[0]!.inflight).toBe(0);
  expect(backends(stack)[0]!.errors).toBe(before.errors); // the client's doing, never held against the backend
  const admin = (await (await fetch(`${stack.adminUrl}/admin/backends`)).json()) as { backends: Array<{ inflight: number }> };
  expect(admin.backends[0]!.inflight).toBe(0);
  expect(await metric(stack, 'infergate_errors_total', { pool: 'p', kind: 'client-closed' })).toBe(before.clientClosed + 1);
  expect(await metric(stack, 'infergate_errors_total', { pool: 'p', kind: 'upstream-reset' })).toBe(before.upstreamReset);
}

test('while waiting for the response head', async () => {
  const before = await baseline();
  arrived = deferred();
  const req = http.get(`${stack.url}/wait`, { agent: false, headers: { 'x-request-id': 'gone-1' } });
  req.on('error', () => {});
  const { req: seen } = await within(arrived.promise, 3000, 'the request at the backend');
  req.destroy();
  await upstreamClosed(seen);
  await expectFreed('gone-1', before);
});

test('while the response streams', async () => {
  const before = await baseline();
  arrived = deferred();
  const firstChunk = deferred();
  const req = http.get(`${stack.url}/stream`, { agent: false, headers: { 'x-request-id': 'gone-2' } }, (res) => res.once('data', () => firstChunk.resolve()));
  req.on('error', () => {});
  const { req: seen } = await within(arrived.promise, 3000, 'the request at the backend');
  await within(firstChunk.promise, 3000, 'the first streamed chunk');
  req.destroy();
  await upstreamClosed(seen);
  await expectFreed('gone-2', before, 200);
});

test('while the request body uploads', async () => {
  const before = await baseline();
  arrived = deferred();
  const socket = net.connect(stack.port, '127.0.0.1');
  socket.on('error', () => {});
  socket.write('POST /upload HTTP/1.1\r\nHost: x\r\nX-Request-Id: gone-3\r\nContent-Length: 10000000\r\n\r\n' + 'x'.repeat(1000));
  const { req: seen } = await within(arrived.promise, 3000, 'the first body bytes at the backend');
  socket.destroy();
  await upstreamClosed(seen);
  await expectFreed('gone-3', before);
});

test('while a replayable body is still being buffered (nothing sent upstream yet)', async () => {
  const before = await baseline();
  const socket = net.connect(stack.port, '127.0.0.1');
  socket.on('error', () => {});
  // PUT is retryable and 50000 bytes fit retry.bufferBody (64kb): the proxy keeps the body before sending it.
  socket.write('PUT /buffered HTTP/1.1\r\nHost: x\r\nX-Request-Id: gone-4\r\nContent-Length: 50000\r\n\r\n' + 'x'.repeat(1000), () => socket.destroy());
  await expectFreed('gone-4', before);
  expect(await accessLine(stack, 'gone-4')).toMatchObject({ attempts: 0 });
  expect(backend.requests.map((r) => r.url)).not.toContain('/buffered');
});

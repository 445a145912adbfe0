// requestBody.buffer (nginx's proxy_request_buffering): a body up to the limit is read whole before a backend is picked,
// so a slow upload holds memory, never a backend connection; a larger body streams; requestBody.bufferTotal bounds
// the memory (503 body-buffer-full beyond it).
import type { IncomingMessage, ServerResponse } from 'node:http';
import net from 'node:net';
import { afterEach, expect, test } from 'vitest';
import { startBackend, streaming, type TestBackend } from '../helpers/backend.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { parseResponses } from '../helpers/raw-http.js';
import { slowUpload, until } from './slow-upload.js';
import { accessLine, backends, deferred, metric, onePool, request, within } from './support.js';

let open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.map((x) => x.close()));
  open = [];
});

async function boot(extra = ''): Promise<{ stack: Stack; backend: TestBackend }> {
  const backend = await startBackend();
  const stack = await startStack(onePool([backend.url], extra));
  open.push(stack, backend);
  return { stack, backend };
}

const held = (stack: Stack): Promise<number> => metric(stack, 'infergate_request_body_buffered_bytes', { pool: 'p' });

test('a body within the limit is read whole before the backend hears of it (defaults: 1mb)', async () => {
  const { stack, backend } = await boot();
  const upload = slowUpload(stack.port, '/v1/small', 1000, 500);
  await until('the first 500 bytes to be buffered', async () => (await held(stack)) === 500);
  // Half a body in: no backend picked, no upstream connection used, nothing sent.
  expect(backends(stack)[0]!.inflight).toBe(0);
  expect(backend.requests).toEqual([]);
  upload.send(500);
  const reply = await within(upload.answered, 5000, 'the answer');
  expect(reply.status).toBe(200);
  expect(backend.requests.map((r) => r.body.length)).toEqual([1000]);
  await until('the buffer to be given back', async () => (await held(stack)) === 0);
  upload.destroy();
});

test('a body above the limit streams: the backend has the request while the client is still sending', async () => {
  const backend = await startBackend();
  const arrived = deferred<number>();
  let received = 0;
  backend.handle(streaming((req: IncomingMessage, res: ServerResponse) => {
    req.on('data', (c: Buffer) => {
      received += c.length;
      if (received >= 2000) arrived.resolve(received);
    });
    req.on('end', () => res.end(`got ${received}`));
  }));
  // retry.bufferBody (64kb) would keep it whole for replay too: off here.
  const stack = await startStack(onePool([backend.url], '    requestBody: { buffer: 1kb }\n    retry: { bufferBody: 0 }'));
  open.push(stack, backend);
  const upload = slowUpload(stack.port, '/v1/large', 10_000, 2000);
  expect(await within(arrived.promise, 5000, 'the streamed start of the body')).toBeGreaterThanOrEqual(2000);
  expect(received).toBeLessThan(10_000);
  expect(await held(stack)).toBe(0);
  upload.send(8000);
  const reply = await within(upload.answered, 5000, 'the answer');
  expect([reply.status, reply.body]).toEqual([200, 'got 10000']);
  upload.destroy();
});

test('beyond bufferTotal a body is refused with 503 body-buffer-full; the memory comes back when the holder finishes', async () => {
  const { stack, backend } = await boot('    requestBody: { bufferTotal: 1kb }');
  const holder = slowUpload(stack.port, '/v1/holder', 1000, 800);
  await until('800 bytes held', async () => (await held(stack)) === 800);
  const refused = await request(`${stack.url}/v1/other`, { method: 'POST', body: 'y'.repeat(500), headers: { 'x-request-id': 'full-1' } });
  expect(refused.status).toBe(503);
  expect(refused.headers['retry-after']).toBe('1');
  expect(JSON.parse(refused.body.toString())).toMatchObject({ error: 'body-buffer-full', requestId: 'full-1' });
  expect(await metric(stack, 'infergate_errors_total', { pool: 'p', kind: 'body-buffer-full' })).toBe(1);
  holder.send(200);
  expect((await within(holder.answered, 5000, 'the holder\'s answer')).status).toBe(200);
  await until('the buffer to be given back', async () => (await held(stack)) === 0);
  const again = await request(`${stack.url}/v1/other`, { method: 'POST', body: 'y'.repeat(500) });
  expect(again.status).toBe(200);
  expect(backend.requests.map((r) => r.url)).toEqual(['/v1/holder', '/v1/other']);
  holder.destroy();
});

/** A chunked upload on a raw socket: chunk(n) sends one chunk of n bytes, end() the last chunk; resolves the first response. */
function chunkedUpload(port: number, path: string): { chunk(n: number): void; end(): void; answered: Promise<{ status: number; body: string }>; destroy(): void } {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  let text = '';
  const answered = new Promise<{ status: number; body: string }>((resolve) => {
    socket.on('data', (c: Buffer) => {
      text += c.toString('latin1');
      const first = parseResponses(text)[0];
      if (first !== undefined) resolve(first);
    });
  });
  socket.write(`POST ${path} HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n`);
  return {
    chunk: (n) => void socket.write(`${n.toString(16)}\r\n${'z'.repeat(n)}\r\n`),
    end: () => void socket.write('0\r\n\r\n'),
    answered,
    destroy: () => socket.destroy(),
  };
}

test('a chunked body is read ahead too: within the limit it is whole (and sized) before the backend hears of it', async () => {
  const { stack, backend } = await boot();
  const upload = chunkedUpload(stack.port, '/v1/chunked-small');
  upload.chunk(300);
  await until('300 bytes read ahead', async () => (await held(stack)) === 300);
  expect(backend.requests).toEqual([]);
  upload.chunk(200);
  upload.end();
  expect((await within(upload.answered, 5000, 'the answer')).status).toBe(200);
  expect(backend.requests.map((r) => r.body.length)).toEqual([500]);
  await until('the buffer to be given back', async () => (await held(stack)) === 0);
  upload.destroy();
});

test('a chunked body past the limit streams, starting with the bytes read ahead: the backend gets every byte in order', async () => {
  const backend = await startBackend();
  const arrived = deferred();
  let body = '';
  backend.handle(streaming((req: IncomingMessage, res: ServerResponse) => {
    req.setEncoding('latin1');
    req.on('data', (c: string) => {
      body += c;
      if (body.length >= 1500) arrived.resolve();
    });
    req.on('end', () => res.end(`got ${body.length}`));
  }));
  const stack = await startStack(onePool([backend.url], '    requestBody: { buffer: 1kb }\n    retry: { bufferBody: 0 }'));
  open.push(stack, backend);
  const upload = chunkedUpload(stack.port, '/v1/chunked-large');
  upload.chunk(700);
  await until('700 bytes read ahead', async () => (await held(stack)) === 700);
  expect(backend.requests).toEqual([]);
  upload.chunk(800);
  // Past 1 KiB: streamed while the client still has more to send.
  await within(arrived.promise, 5000, 'the streamed start of the body');
  expect(await held(stack)).toBe(0);
  upload.chunk(500);
  upload.end();
  const reply = await within(upload.answered, 5000, 'the answer');
  expect([reply.status, reply.body]).toEqual([200, 'got 2000']);
  expect(body).toBe('z'.repeat(2000));
  upload.destroy();
});

test('a client that leaves mid-body: its bytes are given back, the request is logged 499, the backend never hears of it', async () => {
  const { stack, backend } = await boot();
  const upload = slowUpload(stack.port, '/v1/gone', 1000, 400, { 'x-request-id': 'gone-1' });
  await until('400 bytes buffered', async () => (await held(stack)) === 400);
  upload.destroy();
  expect(await accessLine(stack, 'gone-1')).toMatchObject({ status: 499, error: 'client-closed', attempts: 0 });
  await until('the buffer to be given back', async () => (await held(stack)) === 0);
  expect(backend.requests).toEqual([]);
});

test('a total timeout while the body is still being read: 504, the connection closes, and the bytes go back', async () => {
  const { stack, backend } = await boot('    timeouts: { total: 500ms }');
  const upload = slowUpload(stack.port, '/v1/slow', 1000, 500);
  await until('the first 500 bytes to be buffered', async () => (await held(stack)) === 500);
  const reply = await within(upload.answered, 5000, 'the answer');
  expect(reply.status).toBe(504);
  // The rest of the body arrives after the answer: it is not read into the budget, nothing reaches the backend.
  upload.send(500);
  await until('the buffer to be given back', async () => (await held(stack)) === 0);
  await new Promise((r) => setTimeout(r, 200));
  expect(await held(stack)).toBe(0);
  expect(backend.requests).toEqual([]);
  upload.destroy();
});

// Streamed (chunked) HTTP/1.1 responses: the head is held to the end of the tick it arrived in (forward.ts), so a small
// response that arrives whole goes out in one write; a head alone still leaves at once, and trailers pass.
import net from 'node:net';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { sendRaw } from '../helpers/raw-http.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { onePool } from './support.js';

let backend: TestBackend;
let stack: Stack;

beforeAll(async () => {
  backend = await startBackend((req, res) => {
    switch (req.url) {
      case '/late-body':
        // The head now, the body 400 ms later.
        res.writeHead(200, { 'content-type': 'application/x-ndjson' });
        res.flushHeaders();
        setTimeout(() => res.end('{"token":"a"}\n'), 400);
        return;
      case '/trailers':
        res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum' });
        res.write('hello ');
        res.addTrailers({ 'x-checksum': 'abc123' });
        res.end('world');
        return;
      default:
        // Chunked (no content-length), written whole at once.
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"ok":true}');
    }
  });
  stack = await startStack(onePool([backend.url]));
});
afterAll(async () => {
  await stack.close();
  await backend.close();
});

test('a small chunked response arriving whole comes through, and the connection is reused after it', async () => {
  const one = 'GET /whole HTTP/1.1\r\nHost: x\r\n\r\n';
  const reply = await sendRaw(stack.port, one + one + 'GET /whole HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  expect(reply.responses.map((r) => [r.status, r.body])).toEqual([[200, '{"ok":true}'], [200, '{"ok":true}'], [200, '{"ok":true}']]);
  expect(Object.fromEntries(reply.responses[0]!.headers)).toMatchObject({ 'transfer-encoding': 'chunked', 'content-type': 'application/json' });
});

test('a head whose body comes later reaches the client at once, not with the body', async () => {
  const started = performance.now();
  const timings = await new Promise<{ head: number; body: number }>((resolve, reject) => {
    const socket = net.connect(stack.port, '127.0.0.1', () => socket.write('GET /late-body HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
    let head = -1;
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (head < 0 && text.includes('\r\n\r\n')) head = performance.now() - started;
    });
    socket.on('end', () => resolve({ head, body: performance.now() - started }));
    socket.on('error', reject);
  });
  expect(timings.head).toBeGreaterThanOrEqual(0);
  // The body is 400 ms behind the head at the backend: the head must not wait for it.
  expect(timings.head).toBeLessThan(250);
  expect(timings.body).toBeGreaterThanOrEqual(390);
});

test('trailers of a chunked response reach an HTTP/1.1 client', async () => {
  const reply = await sendRaw(stack.port, 'GET /trailers HTTP/1.1\r\nHost: x\r\nTE: trailers\r\nConnection: close\r\n\r\n');
  expect(reply.responses[0]!.body).toBe('hello world');
  expect(reply.text).toContain('\r\n0\r\nx-checksum: abc123\r\n\r\n');
});

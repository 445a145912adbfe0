// Responses with a Content-Length (whose head waits for the first body byte) come through whole: GET, HEAD, 204, 304, empty.
// A small first chunk travels as a latin1 string joined to the head and the last byte ends the response (forward.ts):
// bodies of every byte value, at and around the string threshold, in several chunks and split across ticks, come
// through byte for byte.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { sendRaw } from '../helpers/raw-http.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { onePool, request } from './support.js';

/** Every byte value, repeated to `size` bytes: not valid UTF-8, so any text decoding on the way would show. */
function bytes(size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 7 + 3) & 0xff;
  return b;
}

let backend: TestBackend;
let stack: Stack;

beforeAll(async () => {
  backend = await startBackend((req, res) => {
    switch (req.url) {
      case '/204':
        res.writeHead(204, { 'x-kind': 'none' }).end();
        return;
      case '/304':
        res.writeHead(304, { etag: '"v1"' }).end();
        return;
      case '/empty':
        res.writeHead(200, { 'content-length': '0' }).end();
        return;
      case '/split': {
        // Head and first half now, the rest (with the last byte) 50 ms later: the response ends on a later tick.
        const body = bytes(3000);
        res.writeHead(200, { 'content-length': String(body.length) });
        res.write(body.subarray(0, 1500));
        setTimeout(() => res.end(body.subarray(1500)), 50);
        return;
      }
      default:
        if (req.url?.startsWith('/bytes/') === true) {
          const body = bytes(Number(req.url.slice('/bytes/'.length)));
          res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length) }).end(body);
          return;
        }
        res.writeHead(201, 'Made It', { 'content-type': 'text/plain', 'content-length': '5' }).end(req.method === 'HEAD' ? undefined : 'hello');
    }
  });
  stack = await startStack(onePool([backend.url]));
});
afterAll(async () => {
  await stack.close();
  await backend.close();
});

test('GET: status, reason, length and body', async () => {
  const reply = await sendRaw(stack.port, 'GET /sized HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  expect(reply.text).toMatch(/^HTTP\/1\.1 201 Made It\r\n/);
  const res = reply.responses[0]!;
  expect(Object.fromEntries(res.headers)).toMatchObject({ 'content-length': '5', 'content-type': 'text/plain' });
  expect(res.body).toBe('hello');
});

test('HEAD: the length header without a body', async () => {
  const reply = await request(`${stack.url}/sized`, { method: 'HEAD' });
  expect(reply.status).toBe(201);
  expect(reply.headers['content-length']).toBe('5');
  expect(reply.body.length).toBe(0);
});

test.each([
  ['/204', 204],
  ['/304', 304],
  ['/empty', 200],
])('%s: answered with no body', async (path, status) => {
  const reply = await request(`${stack.url}${path}`);
  expect(reply.status).toBe(status);
  expect(reply.body.length).toBe(0);
  expect(reply.headers['x-request-id']).toBeDefined();
});

test('keep-alive: several sized responses in a row on one client connection', async () => {
  const one = 'GET /sized HTTP/1.1\r\nHost: x\r\n\r\n';
  const reply = await sendRaw(stack.port, one + one + 'GET /sized HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  expect(reply.responses.map((r) => [r.status, r.body])).toEqual([[201, 'hello'], [201, 'hello'], [201, 'hello']]);
});

test.each([1, 255, 256, 16 * 1024, 16 * 1024 + 1, 300 * 1024])('%i bytes of every value come through byte for byte', async (size) => {
  const reply = await request(`${stack.url}/bytes/${size}`);
  expect(reply.status).toBe(200);
  expect(reply.headers['content-length']).toBe(String(size));
  expect(reply.body.equals(bytes(size))).toBe(true);
});

test('a sized body whose last bytes come on a later tick: whole, and the connection is reused after it', async () => {
  const one = 'GET /split HTTP/1.1\r\nHost: x\r\n\r\n';
  const reply = await sendRaw(stack.port, one + 'GET /bytes/256 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  expect(reply.responses.map((r) => r.status)).toEqual([200, 200]);
  expect(Buffer.from(reply.responses[0]!.body, 'latin1').equals(bytes(3000))).toBe(true);
  expect(Buffer.from(reply.responses[1]!.body, 'latin1').equals(bytes(256))).toBe(true);
});

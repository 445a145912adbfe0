// Responses with a Content-Length (whose head waits for the first body byte) come through whole: GET, HEAD, 204, 304, empty.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { sendRaw } from '../helpers/raw-http.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { onePool, request } from './support.js';

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
      default:
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

// One pool and no routes: every request, whatever its path, method or host, goes to that pool.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { sendRaw } from '../helpers/raw-http.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { onePool, request } from './support.js';

let backend: TestBackend;
let stack: Stack;

beforeAll(async () => {
  backend = await startBackend();
  stack = await startStack(onePool([backend.url]));
});
afterAll(async () => {
  await stack.close();
  await backend.close();
});

test('any path, method and host reaches the only pool', async () => {
  for (const [method, path, host] of [['GET', '/', 'a'], ['POST', '/v2/models/x/infer', 'b.example'], ['DELETE', '/z?q=1', 'c:81']] as const) {
    const reply = await request(`${stack.url}${path}`, { method, headers: { host } });
    expect(reply.status).toBe(200);
    expect(backend.requests.at(-1)).toMatchObject({ method, url: path });
  }
});

test('an absolute-form request target is routed and forwarded in origin-form', async () => {
  const reply = await sendRaw(stack.port, 'GET http://lb.example/abs/x?y=1 HTTP/1.1\r\nHost: lb.example\r\nConnection: close\r\n\r\n');
  expect(reply.status).toBe(200);
  expect(backend.requests.at(-1)!.url).toBe('/abs/x?y=1');
});

test('OPTIONS * cannot be forwarded by the upstream client: a 400, never held against the backend', async () => {
  const reply = await sendRaw(stack.port, 'OPTIONS * HTTP/1.1\r\nHost: lb.example\r\nConnection: close\r\n\r\n');
  expect(reply.status).toBe(400);
  expect(JSON.parse(reply.responses[0]!.body)).toMatchObject({ error: 'unforwardable-request' });
  expect(stack.app.pools()[Symbol.iterator]().next().value!.backends[0]!.errors).toBe(0);
});

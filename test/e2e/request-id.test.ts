// x-request-id: the client's is kept, otherwise one is made; it goes upstream and comes back on every response, errors included.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { accessLine, onePool, request } from './support.js';

let backend: TestBackend;
let stack: Stack;

beforeAll(async () => {
  backend = await startBackend((req, res) => {
    // A backend that sets its own id must not override ours.
    res.writeHead(req.url === '/fail' ? 500 : 200, { 'x-request-id': 'backend-made-this' });
    res.end('{}');
  });
  stack = await startStack(onePool([backend.url]));
});
afterAll(async () => {
  await stack.close();
  await backend.close();
});

test('the client id is kept: upstream, on the response, in the access log', async () => {
  const reply = await request(`${stack.url}/ok`, { headers: { 'x-request-id': 'client-abc-123' } });
  expect(reply.status).toBe(200);
  expect(reply.headers['x-request-id']).toBe('client-abc-123');
  expect(backend.requests.at(-1)!.headers['x-request-id']).toBe('client-abc-123');
  expect(await accessLine(stack, 'client-abc-123')).toMatchObject({ status: 200 });
});

test('without one, a fresh id is made, sent upstream and echoed', async () => {
  const reply = await request(`${stack.url}/ok`);
  const id = reply.headers['x-request-id'] as string;
  expect(id).toMatch(/^[0-9a-f-]{36}$/);
  expect(backend.requests.at(-1)!.headers['x-request-id']).toBe(id);
  const again = await request(`${stack.url}/ok`);
  expect(again.headers['x-request-id']).not.toBe(id);
});

test('an unusable client id (too long, or with spaces) is replaced', async () => {
  const reply = await request(`${stack.url}/ok`, { headers: { 'x-request-id': 'has space' } });
  expect(reply.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  const long = await request(`${stack.url}/ok`, { headers: { 'x-request-id': 'x'.repeat(201) } });
  expect(long.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
});

test('a backend error response carries ours, not an id the backend set', async () => {
  const failed = await request(`${stack.url}/fail`, { headers: { 'x-request-id': 'err-1' } });
  expect(failed.status).toBe(500);
  expect(failed.rawHeaders.filter((n) => n.toLowerCase() === 'x-request-id')).toHaveLength(1);
  expect(failed.headers['x-request-id']).toBe('err-1');
});

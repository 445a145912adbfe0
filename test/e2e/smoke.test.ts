// The smallest end-to-end path: one backend, one request, through the real app on loopback.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { startStack, type Stack } from '../helpers/stack.js';

let backend: TestBackend;
let stack: Stack;

beforeAll(async () => {
  backend = await startBackend();
  stack = await startStack(`
pools:
  p:
    health: { readiness: { path: /health, interval: 100ms } }
    backends: [${backend.url}]
`);
});
afterAll(async () => {
  await stack.close();
  await backend.close();
});

test('a request reaches the backend and the answer comes back with a request id', async () => {
  const res = await fetch(`${stack.url}/v1/predict?x=1`, { method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } });
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ ok: true, path: '/v1/predict?x=1' });
  expect(res.headers.get('x-request-id')).toMatch(/[0-9a-f-]{36}/);
  const seen = backend.requests.at(-1)!;
  expect(seen.method).toBe('POST');
  expect(seen.body.toString()).toBe('{"a":1}');
  expect(seen.headers['x-request-id']).toBe(res.headers.get('x-request-id'));
  const access = await stack.waitForLog((l) => l.kind === 'access' && l.requestId === res.headers.get('x-request-id'));
  expect(access).toMatchObject({ method: 'POST', path: '/v1/predict?x=1', status: 200, pool: 'p', attempts: 1 });
});

// A pool whose only backend never passes readiness, with the queue off: 503 no-ready-backend with Retry-After, counted.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { accessLine, json, metric, onePool, request } from './support.js';

let backend: TestBackend;
let stack: Stack;

beforeAll(async () => {
  backend = await startBackend();
  backend.setHealth(503);
  stack = await startStack(onePool([backend.url], '    queue: false'), { waitReady: false });
});
afterAll(async () => {
  await stack.close();
  await backend.close();
});

test('answers 503 with Retry-After and never forwards the request', async () => {
  const reply = await request(`${stack.url}/v1/x`, { headers: { 'x-request-id': 'none-1' } });
  expect(reply.status).toBe(503);
  expect(reply.headers['retry-after']).toMatch(/^\d+$/);
  expect(reply.headers['x-request-id']).toBe('none-1');
  expect(json(reply)).toMatchObject({ error: 'no-ready-backend', requestId: 'none-1' });
  expect(await metric(stack, 'infergate_errors_total', { pool: 'p', kind: 'no-ready-backend' })).toBe(1);
  expect(await accessLine(stack, 'none-1')).toMatchObject({ status: 503, error: 'no-ready-backend', attempts: 0 });
  expect(backend.requests).toEqual([]);
});

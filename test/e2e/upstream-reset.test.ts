// A backend that destroys the socket instead of answering: 502 upstream-reset, JSON body, counted.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { accessLine, json, metric, onePool, request } from './support.js';

let backend: TestBackend;
let stack: Stack;

beforeAll(async () => {
  backend = await startBackend((req) => req.socket.destroy());
  stack = await startStack(onePool([backend.url]));
});
afterAll(async () => {
  await stack.close();
  await backend.close();
});

test('answers 502 upstream-reset with the request id, and counts it', async () => {
  const reply = await request(`${stack.url}/v1/x`, { headers: { 'x-request-id': 'reset-1' } });
  expect(reply.status).toBe(502);
  expect(reply.headers['x-request-id']).toBe('reset-1');
  expect(json(reply)).toMatchObject({ error: 'upstream-reset', requestId: 'reset-1' });
  expect(await metric(stack, 'infergate_errors_total', { pool: 'p', kind: 'upstream-reset' })).toBe(1);
  const line = await accessLine(stack, 'reset-1');
  expect(line).toMatchObject({ status: 502, error: 'upstream-reset' });
  // One fresh-connection retry at most (keep-alive race rule), never a loop.
  expect(backend.requests.length).toBe(line.attempts);
  expect(line.attempts).toBeLessThanOrEqual(2);
});

// A backend whose port closed after it became READY: 502 connect-refused, JSON body, counted.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { accessLine, json, metric, onePool, request } from './support.js';

let backend: TestBackend;
let stack: Stack;

beforeAll(async () => {
  backend = await startBackend();
  stack = await startStack(onePool([backend.url]));
  await backend.close();
});
afterAll(async () => {
  await stack.close();
});

test('answers 502 connect-refused with the request id, and counts it', async () => {
  const reply = await request(`${stack.url}/v1/x`, { headers: { 'x-request-id': 'refused-1' } });
  expect(reply.status).toBe(502);
  expect(reply.headers['content-type']).toBe('application/json');
  expect(reply.headers['x-request-id']).toBe('refused-1');
  expect(json(reply)).toMatchObject({ error: 'connect-refused', requestId: 'refused-1' });
  expect(await metric(stack, 'infergate_errors_total', { pool: 'p', kind: 'connect-refused' })).toBe(1);
  expect(await accessLine(stack, 'refused-1')).toMatchObject({ status: 502, error: 'connect-refused' });
});

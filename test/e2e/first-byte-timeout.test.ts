// A backend that never answers: 504 first-byte-timeout after timeouts.firstByte, JSON body, counted.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { accessLine, json, metric, onePool, request } from './support.js';

let backend: TestBackend;
let stack: Stack;

beforeAll(async () => {
  backend = await startBackend(() => {}); // holds every request
  stack = await startStack(onePool([backend.url], '    timeouts: { firstByte: 200ms }'));
});
afterAll(async () => {
  await stack.close();
  await backend.close();
});

test('answers 504 first-byte-timeout with the request id, and counts it', async () => {
  const reply = await request(`${stack.url}/v1/x`, { headers: { 'x-request-id': 'slow-1' } });
  expect(reply.status).toBe(504);
  expect(reply.headers['x-request-id']).toBe('slow-1');
  expect(json(reply)).toMatchObject({ error: 'first-byte-timeout', requestId: 'slow-1' });
  expect(await metric(stack, 'infergate_errors_total', { pool: 'p', kind: 'first-byte-timeout' })).toBe(1);
  const line = await accessLine(stack, 'slow-1');
  expect(line).toMatchObject({ status: 504, error: 'first-byte-timeout', attempts: 1 });
  expect(line.totalMs as number).toBeGreaterThanOrEqual(190);
});

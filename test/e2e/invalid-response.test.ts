// A backend that writes garbage instead of HTTP: 502 invalid-response, JSON body, counted, not retried.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startRawBackend, type RawBackend } from '../helpers/raw-http.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { accessLine, json, metric, onePool, request } from './support.js';

let backend: RawBackend;
let stack: Stack;

const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok';

beforeAll(async () => {
  backend = await startRawBackend((head) => ({ bytes: head.startsWith('GET /health ') ? OK : 'this is not HTTP at all\r\n\r\n' }));
  stack = await startStack(onePool([backend.url]));
});
afterAll(async () => {
  await stack.close();
  await backend.close();
});

test('answers 502 invalid-response with the request id, and counts it', async () => {
  const reply = await request(`${stack.url}/v1/x`, { headers: { 'x-request-id': 'garbage-1' } });
  expect(reply.status).toBe(502);
  expect(reply.headers['x-request-id']).toBe('garbage-1');
  expect(json(reply)).toMatchObject({ error: 'invalid-response', requestId: 'garbage-1' });
  expect(await metric(stack, 'infergate_errors_total', { pool: 'p', kind: 'invalid-response' })).toBe(1);
  expect(await accessLine(stack, 'garbage-1')).toMatchObject({ status: 502, error: 'invalid-response', attempts: 1 });
});

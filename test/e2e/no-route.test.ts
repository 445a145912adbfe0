// A request no route matches: 404 no-route, JSON body with the request id, counted.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { QUIET_HEALTH, accessLine, json, metric, request } from './support.js';

let backend: TestBackend;
let stack: Stack;

beforeAll(async () => {
  backend = await startBackend();
  stack = await startStack(`
routes:
  - { match: { pathPrefix: /a/ }, pool: a }
  - { match: { pathPrefix: /b/ }, pool: b }
pools:
  a: { health: ${QUIET_HEALTH}, backends: [${backend.url}] }
  b: { health: ${QUIET_HEALTH}, backends: [${backend.url}] }
`);
});
afterAll(async () => {
  await stack.close();
  await backend.close();
});

test('answers 404 no-route with the request id and never forwards', async () => {
  const reply = await request(`${stack.url}/c/x`, { headers: { 'x-request-id': 'lost-1' } });
  expect(reply.status).toBe(404);
  expect(reply.headers['x-request-id']).toBe('lost-1');
  expect(json(reply)).toMatchObject({ error: 'no-route', requestId: 'lost-1' });
  expect(await metric(stack, 'infergate_no_route_total')).toBe(1);
  expect(await metric(stack, 'infergate_errors_total', { kind: 'no-route' })).toBe(1);
  expect(await accessLine(stack, 'lost-1')).toMatchObject({ status: 404, error: 'no-route', attempts: 0 });
  expect(backend.requests).toEqual([]);
});

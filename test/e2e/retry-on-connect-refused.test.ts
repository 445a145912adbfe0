// A GET that meets a refused connection is retried on the other backend, never on the same one.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { accessLine, backendByUrl, metric, onePool, request, waitAllReady } from './support.js';

let dead: TestBackend;
let alive: TestBackend;
let stack: Stack;

beforeAll(async () => {
  dead = await startBackend();
  alive = await startBackend();
  stack = await startStack(onePool([dead.url, alive.url]));
  await waitAllReady(stack);
  await dead.close();
});
afterAll(async () => {
  await stack.close();
  await alive.close();
});

test('the request that picked the dead backend succeeds via the other one, with attempts: 2', async () => {
  // Round-robin over two backends: of two requests, one picks the dead backend first.
  const first = await request(`${stack.url}/r`, { headers: { 'x-request-id': 'rr-1' } });
  const second = await request(`${stack.url}/r`, { headers: { 'x-request-id': 'rr-2' } });
  expect([first.status, second.status]).toEqual([200, 200]);
  const lines = [await accessLine(stack, 'rr-1'), await accessLine(stack, 'rr-2')];
  const aliveId = backendByUrl(stack, alive.url).id;
  expect(lines.map((l) => l.attempts).sort()).toEqual([1, 2]);
  for (const l of lines) expect(l).toMatchObject({ status: 200, backend: aliveId });
  expect(alive.requests.length).toBe(2);
  expect(await metric(stack, 'infergate_retries_total', { pool: 'p', reason: 'connect-refused' })).toBe(1);
  expect(backendByUrl(stack, dead.url).errors).toBe(1);
});

// The retry budget (retry.budget percent of active requests, at least retry.minRetryConcurrency) stops retry storms.
import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { accessLine, deferred, json, metric, onePool, request, waitAllReady, within, type Deferred } from './support.js';

let failing: TestBackend;
let holder: TestBackend;
let stack: Stack;
let held: Deferred<ServerResponse>;

beforeAll(async () => {
  // Answers 502 to user requests: retried (retry.onStatus [502]) without being held for re-verification as a
  // refused connection would be, so every request meets it first.
  failing = await startBackend((req, res) => {
    res.statusCode = req.url === '/health' ? 200 : 502;
    res.end(req.url === '/health' ? 'ok' : '{"backend":"failing"}');
  });
  // Holds each request until the test answers it, so a retry stays in flight.
  holder = await startBackend((_req, res) => held.resolve(res));
  // random() = 0 always picks the first eligible backend: the dead one.
  stack = await startStack(onePool([failing.url, holder.url], '    retry: { budget: 0, minRetryConcurrency: 1, onStatus: [502] }').replace('round-robin', 'random'), { deps: { random: () => 0 } });
  await waitAllReady(stack);
});
afterAll(async () => {
  await stack.close();
  await holder.close();
  await failing.close();
});

const exhausted = (): Promise<number> => metric(stack, 'infergate_retry_budget_exhausted_total', { pool: 'p' });

test('with one retry in flight and no budget left, the next failure is answered, not retried', async () => {
  const before = await exhausted();
  held = deferred();
  const first = request(`${stack.url}/one`, { headers: { 'x-request-id': 'budget-1' } });
  const res = await within(held.promise, 3000, 'the first request retried onto the holder');

  const second = await request(`${stack.url}/two`, { headers: { 'x-request-id': 'budget-2' } });
  // Not retried: the backend's own 502 goes to the client.
  expect(second.status).toBe(502);
  expect(json(second)).toEqual({ backend: 'failing' });
  expect(await accessLine(stack, 'budget-2')).toMatchObject({ attempts: 1 });
  expect(await exhausted()).toBe(before + 1);

  res.end('ok');
  expect((await first).status).toBe(200);
  expect(await accessLine(stack, 'budget-1')).toMatchObject({ attempts: 2 });
});

test('once the retry in flight finished, the budget allows a retry again', async () => {
  const before = await exhausted();
  held = deferred();
  const third = request(`${stack.url}/three`, { headers: { 'x-request-id': 'budget-3' } });
  (await within(held.promise, 3000, 'the third request retried onto the holder')).end('ok');
  expect((await third).status).toBe(200);
  expect(await accessLine(stack, 'budget-3')).toMatchObject({ attempts: 2 });
  expect(await exhausted()).toBe(before);
});

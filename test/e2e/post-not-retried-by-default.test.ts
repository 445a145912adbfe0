// POST is not retried unless the pool lists it in retry.methods; then it is, with its body intact.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { QUIET_HEALTH, accessLine, json, request, waitAllReady } from './support.js';

let dead: TestBackend;
let alive: TestBackend;
let stack: Stack;

beforeAll(async () => {
  dead = await startBackend();
  alive = await startBackend();
  // random() = 0 always picks the first eligible backend: the dead one.
  stack = await startStack(
    `
routes:
  - { match: { pathPrefix: /default/ }, pool: plain }
  - { match: { pathPrefix: /safe/ }, pool: safe }
pools:
  plain: { balance: random, health: ${QUIET_HEALTH}, backends: [${dead.url}, ${alive.url}] }
  safe:
    balance: random
    health: ${QUIET_HEALTH}
    retry: { methods: [post, GET] }
    backends: [${dead.url}, ${alive.url}]
`,
    { deps: { random: () => 0 } },
  );
  await waitAllReady(stack);
  await dead.close();
});
afterAll(async () => {
  await stack.close();
  await alive.close();
});

test('by default a POST that meets a refused connection is answered 502, not retried', async () => {
  const before = alive.requests.length;
  const reply = await request(`${stack.url}/default/predict`, { method: 'POST', body: '{"x":1}', headers: { 'x-request-id': 'post-1', 'content-type': 'application/json' } });
  expect(reply.status).toBe(502);
  expect(json(reply)).toMatchObject({ error: 'connect-refused' });
  expect(await accessLine(stack, 'post-1')).toMatchObject({ attempts: 1 });
  expect(alive.requests.slice(before)).toEqual([]);
});

test('a pool that lists POST retries it on the other backend with the same body', async () => {
  const before = alive.requests.length;
  const reply = await request(`${stack.url}/safe/predict`, { method: 'POST', body: '{"x":2}', headers: { 'x-request-id': 'post-2', 'content-type': 'application/json' } });
  expect(reply.status).toBe(200);
  expect(await accessLine(stack, 'post-2')).toMatchObject({ attempts: 2, status: 200 });
  expect(alive.requests.slice(before).map((r) => [r.method, r.url, r.body.toString()])).toEqual([['POST', '/safe/predict', '{"x":2}']]);
});

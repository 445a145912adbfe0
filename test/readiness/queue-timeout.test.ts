// A request that waits longer than queue.timeout is answered 503 queue-timeout with Retry-After (injected clock).
import { afterEach, expect, test } from 'vitest';
import { ManualClock } from '../helpers/manual-clock.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { json, metric, request, startModel, until, type Model } from './support.js';

let model: Model;
let stack: Stack;
afterEach(async () => {
  await stack.close();
  await model.close();
});

test('default timeout 10 s: still waiting at 9.999 s, 503 queue-timeout at 10 s; the backend never sees it', async () => {
  model = await startModel({ '/health': 503 });
  const clock = new ManualClock();
  stack = await startStack(`
pools:
  p:
    health: { jitter: 0, readiness: { path: /health, interval: 1h } }
    backends: [${model.url}]
`, { waitReady: false, deps: { clock } });
  await clock.waitFor(3_600_000, 1);
  let answered = false;
  const pending = request(`${stack.url}/late`, { headers: { 'x-request-id': 'slow-1' } }).then((r) => {
    answered = true;
    return r;
  });
  await until(stack, async () => (await metric(stack, 'infergate_queue_length', { pool: 'p' })) === 1, 'the request to be queued');
  clock.advance(9_999);
  await until(stack, () => true, 'one round trip');
  expect(answered).toBe(false);

  clock.advance(1);
  const reply = await pending;
  expect(reply.status).toBe(503);
  expect(reply.headers['retry-after']).toBe('1');
  expect(json(reply)).toMatchObject({ error: 'queue-timeout', requestId: 'slow-1' });
  expect(await metric(stack, 'infergate_queue_length', { pool: 'p' })).toBe(0);
  expect(await metric(stack, 'infergate_queue_wait_seconds_sum', { pool: 'p' })).toBe(10);
  expect(model.user).toEqual([]);
});

// A READY backend with weight 0 takes no new traffic: its turning READY must not spin the queue (the wake-up hands
// capacity to a waiter that cannot use it), and the waiter keeps its place and its original deadline.
import { afterEach, expect, test } from 'vitest';
import { ManualClock } from '../helpers/manual-clock.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { idOf, json, metric, request, startModel, until, waitState, type Model } from './support.js';

let model: Model;
let stack: Stack;
afterEach(async () => {
  await stack.close();
  await model.close();
});

test('queued at 0 s, weight-0 backend READY at 1 s: still queued, 503 queue-timeout at exactly 10 s', async () => {
  model = await startModel({ '/health': 503 });
  const clock = new ManualClock();
  stack = await startStack(`
pools:
  p:
    health: { jitter: 0, readiness: { path: /health, interval: 1s, timeout: 30s } }   # a probe in flight never times out between two advances
    backends: [{ url: "${model.url}", weight: 0 }]
`, { waitReady: false, deps: { clock } });
  await clock.waitFor(1000, 1);
  let answered = false;
  const pending = request(`${stack.url}/x`).then((r) => {
    answered = true;
    return r;
  });
  await until(stack, async () => (await metric(stack, 'infergate_queue_length', { pool: 'p' })) === 1, 'the request to queue');

  model.setStatus('/health', 200);
  clock.advance(1000);
  await waitState(stack, idOf(model.port), 'READY');
  await clock.waitFor(1000, 2); // the event loop is free: the wake-up did not spin
  expect(await metric(stack, 'infergate_queue_length', { pool: 'p' })).toBe(1);

  clock.advance(8999); // 9.999 s after it queued
  await until(stack, () => true, 'one round trip');
  expect(answered).toBe(false);
  clock.advance(1);
  const reply = await pending;
  expect(reply.status).toBe(503);
  expect(json(reply)).toMatchObject({ error: 'queue-timeout' });
  expect(await metric(stack, 'infergate_queue_wait_seconds_sum', { pool: 'p' })).toBe(10);
  expect(await metric(stack, 'infergate_queue_wait_seconds_count', { pool: 'p' })).toBe(1);
  expect(model.user).toEqual([]);
});

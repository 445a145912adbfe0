// A READY backend with weight 0 takes no new traffic: requests queued for it time out (503), and its turning READY
// must not spin the queue (the wake-up hands the slot to a waiter that cannot use it, which re-queues itself).
import { afterEach, expect, test } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { idOf, json, metric, request, startModel, until, waitState, type Model } from './support.js';

let model: Model;
let stack: Stack;
afterEach(async () => {
  await stack.close();
  await model.close();
});

test('queued request, weight-0 backend turns READY: still queued, then 503 queue-timeout; the backend sees nothing', async () => {
  model = await startModel({ '/health': 503 });
  stack = await startStack(`
pools:
  p:
    queue: { timeout: 300ms }
    health: { jitter: 0, readiness: { path: /health, interval: 20ms } }
    backends: [{ url: "${model.url}", weight: 0 }]
`, { waitReady: false });
  const pending = request(`${stack.url}/x`);
  await until(stack, async () => (await metric(stack, 'infergate_queue_length', { pool: 'p' })) === 1, 'the request to queue');
  model.setStatus('/health', 200);
  await waitState(stack, idOf(model.port), 'READY');
  const reply = await pending;
  expect(reply.status).toBe(503);
  expect(json(reply)).toMatchObject({ error: 'queue-timeout' });
  expect(model.user).toEqual([]);
});

// queue: false answers 503 no-ready-backend at once while nothing is READY.
import { afterEach, expect, test } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { backendOf, idOf, json, metric, request, startModel, until, type Model } from './support.js';

let model: Model;
let stack: Stack;
afterEach(async () => {
  await stack.close();
  await model.close();
});

test('503 with Retry-After and JSON, nothing queued, nothing sent', async () => {
  model = await startModel({ '/health': 503 });
  stack = await startStack(`
pools:
  p:
    queue: false
    health: { readiness: { path: /health, interval: 1h } }
    backends: [${model.url}]
`, { waitReady: false });
  await until(stack, () => backendOf(stack, idOf(model.port)).lastProbe !== null, 'the first probe');
  const reply = await request(`${stack.url}/x`);
  expect(reply.status).toBe(503);
  expect(reply.headers['retry-after']).toBe('1');
  expect(json(reply)).toMatchObject({ error: 'no-ready-backend' });
  expect(await metric(stack, 'infergate_queue_wait_seconds_count', { pool: 'p' })).toBe(0);
  expect(model.user).toEqual([]);
});

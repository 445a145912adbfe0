// A client that gives up while its request is queued leaves the queue: the gauge returns to 0, the backend never sees it.
import http from 'node:http';
import { afterEach, expect, test } from 'vitest';
import { ManualClock } from '../helpers/manual-clock.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { metric, probeRound, request, startModel, until, type Model } from './support.js';

let model: Model;
let stack: Stack;
afterEach(async () => {
  await stack.close();
  await model.close();
});

test('abort while queued: queue length back to 0, 499 logged, and the backend later sees only the next request', async () => {
  model = await startModel({ '/health': 503 });
  const clock = new ManualClock();
  stack = await startStack(`
pools:
  p:
    health: { jitter: 0, readiness: { path: /health, interval: 7s } }
    backends: [${model.url}]
`, { waitReady: false, deps: { clock } });
  await clock.waitFor(7_000, 1); // the first probe failed
  const req = http.request(`${stack.url}/gone`, { agent: false, headers: { 'x-request-id': 'gone-1' } });
  req.on('error', () => {}); // the abort below
  req.end();
  await until(stack, async () => (await metric(stack, 'infergate_queue_length', { pool: 'p' })) === 1, 'the request to queue');

  req.destroy();
  await until(stack, async () => (await metric(stack, 'infergate_queue_length', { pool: 'p' })) === 0, 'the queue to empty');
  expect(await stack.waitForLog((l) => l.kind === 'access' && l.requestId === 'gone-1')).toMatchObject({ status: 499, error: 'client-closed', backend: '' });

  model.setStatus('/health', 200);
  await probeRound(clock, 7_000);
  const reply = await request(`${stack.url}/next`);
  expect(reply.status).toBe(200);
  expect(model.user.map((s) => s.url)).toEqual(['/next']);
});

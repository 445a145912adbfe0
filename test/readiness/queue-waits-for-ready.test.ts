// Default queue: while no backend is READY requests wait, and are sent the moment one becomes READY (200, not 503);
// infergate_queue_length and infergate_queue_wait_seconds report it (injected clock: the wait is exact).
import { afterEach, expect, test } from 'vitest';
import { ManualClock } from '../helpers/manual-clock.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { idOf, isUser, metric, probeRound, request, startModel, until, type Model } from './support.js';

let model: Model;
let stack: Stack;
afterEach(async () => {
  await stack.close();
  await model.close();
});

test('three requests wait for the loading backend and all get 200 once it is READY', async () => {
  model = await startModel({ '/health': 503 });
  const clock = new ManualClock();
  stack = await startStack(`
pools:
  p:
    health: { jitter: 0, readiness: { path: /health, interval: 7s } }
    backends: [${model.url}]
`, { waitReady: false, deps: { clock } });
  const id = idOf(model.port);
  expect(stack.app.config.pools.get('p')!.queue).toEqual({ max: 1000, timeoutMs: 10_000 });
  await clock.waitFor(7_000, 1); // the first probe failed

  const pending = [1, 2, 3].map((i) => request(`${stack.url}/r${i}`));
  await until(stack, async () => (await metric(stack, 'infergate_queue_length', { pool: 'p' })) === 3, 'three queued requests');
  expect(model.requests.filter(isUser)).toEqual([]);
  expect(stack.app.backend(id)!.state()).toBe('LOADING');

  model.setStatus('/health', 200);
  await probeRound(clock, 7_000); // at 7 s: READY, within the queue timeout (10 s)
  const replies = await Promise.all(pending);
  expect(replies.map((r) => r.status)).toEqual([200, 200, 200]);
  expect(model.requests.filter(isUser).map((s) => s.url).sort()).toEqual(['/r1', '/r2', '/r3']);
  expect(await metric(stack, 'infergate_queue_length', { pool: 'p' })).toBe(0);
  expect(await metric(stack, 'infergate_queue_wait_seconds_count', { pool: 'p' })).toBe(3);
  expect(await metric(stack, 'infergate_queue_wait_seconds_sum', { pool: 'p' })).toBe(21);
});

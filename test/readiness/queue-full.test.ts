// A full queue answers 503 at once, with Retry-After and a JSON body (queue-full); the queued request still gets served.
import { afterEach, expect, test } from 'vitest';
import { ManualClock } from '../helpers/manual-clock.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { json, metric, probeRound, request, startModel, until, type Model } from './support.js';

let model: Model;
let stack: Stack;
afterEach(async () => {
  await stack.close();
  await model.close();
});

test('queue: { max: 1 }: the second waiting request gets 503 queue-full', async () => {
  model = await startModel({ '/health': 503 });
  const clock = new ManualClock();
  stack = await startStack(`
pools:
  p:
    queue: { max: 1 }
    health: { jitter: 0, readiness: { path: /health, interval: 7s } }
    backends: [${model.url}]
`, { waitReady: false, deps: { clock } });
  await clock.waitFor(7_000, 1); // the first probe failed
  const first = request(`${stack.url}/first`);
  await until(stack, async () => (await metric(stack, 'infergate_queue_length', { pool: 'p' })) === 1, 'the first request to queue');
  const second = await request(`${stack.url}/second`, { headers: { 'x-request-id': 'full-1' } });
  expect(second.status).toBe(503);
  expect(second.headers['retry-after']).toBe('1');
  expect(second.headers['content-type']).toBe('application/json');
  expect(json(second)).toMatchObject({ error: 'queue-full', requestId: 'full-1' });
  expect(await metric(stack, 'infergate_errors_total', { pool: 'p', kind: 'queue-full' })).toBe(1);

  model.setStatus('/health', 200);
  await probeRound(clock, 7_000);
  expect((await first).status).toBe(200);
  expect(model.user.map((s) => s.url)).toEqual(['/first']);
});

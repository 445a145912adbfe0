// A pushed "ready" never bypasses a failing liveness probe: the backend stays out until liveness passes.
import { afterEach, expect, test } from 'vitest';
import { ManualClock } from '../helpers/manual-clock.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { adminAction, backendOf, idOf, isUser, probeRound, request, startModel, until, view, waitState, type Model } from './support.js';

let model: Model;
let stack: Stack;
afterEach(async () => {
  await stack.close();
  await model.close();
});

test('liveness failing: /ready leaves it UNREADY and without traffic; READY once liveness passes', async () => {
  model = await startModel({ '/health': 503, '/live': 503 });
  const clock = new ManualClock();
  stack = await startStack(`
pools:
  p:
    queue: false
    health: { jitter: 0, readiness: { path: /health, interval: 1h }, liveness: { path: /live, interval: 5s, unhealthyThreshold: 1 } }
    backends: [${model.url}]
`, { waitReady: false, deps: { clock } });
  const id = idOf(model.port);
  const b = backendOf(stack, id);
  await clock.waitFor(5_000, 1); // the first liveness verdict (at once): failing
  expect(b.health.live).toBe(false);

  expect((await adminAction(stack, id, 'ready')).status).toBe(200);
  await until(stack, () => b.phase === 'ready', 'the push to go through');
  const v = await view(stack, id);
  expect(v.state).toBe('UNREADY');
  expect((await request(`${stack.url}/x`)).status).toBe(503);
  expect(model.requests.filter(isUser)).toEqual([]);

  // Another failing liveness round keeps it out.
  await probeRound(clock, 5_000);
  expect(b.state()).toBe('UNREADY');

  model.setStatus('/live', 200);
  await probeRound(clock, 5_000);
  await waitState(stack, id, 'READY');
  expect((await request(`${stack.url}/x`)).status).toBe(200);
});

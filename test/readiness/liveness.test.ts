// Liveness: failing it (after its threshold) takes a READY backend out at once, loudly and counted; a pass brings it back.
import { afterEach, expect, test } from 'vitest';
import { ManualClock } from '../helpers/manual-clock.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { backendOf, idOf, isUser, metric, request, startModel, view, waitState, type Model } from './support.js';

let model: Model;
let stack: Stack;
afterEach(async () => {
  await stack.close();
  await model.close();
});

test('READY -> UNREADY on the 2nd failing liveness probe, error log + counters; READY again on a pass', async () => {
  model = await startModel({ '/health': 200, '/live': 200 });
  const clock = new ManualClock();
  stack = await startStack(`
pools:
  p:
    queue: false
    health: { jitter: 0, readiness: { path: /health, interval: 1h }, liveness: { path: /live, interval: 5s, unhealthyThreshold: 2 } }
    backends: [${model.url}]
`, { deps: { clock } });
  const id = idOf(model.port);
  await clock.waitFor(5000, 1);
  expect(backendOf(stack, id).state()).toBe('READY');

  model.setStatus('/live', 503);
  clock.advance(5000);
  await clock.waitFor(5000, 2);
  expect(backendOf(stack, id).state()).toBe('READY'); // one failure: below the threshold

  clock.advance(5000);
  await waitState(stack, id, 'UNREADY');
  const v = await view(stack, id);
  expect(v.stateReason).toBe('liveness /live failed: status 503');
  expect(stack.logs.find((l) => typeof l.msg === 'string' && l.msg.startsWith('liveness probe failing'))).toMatchObject({ level: 'error', backend: id, probe: '/live', error: 'status 503' });
  expect(await metric(stack, 'infergate_backend_state_transitions_total', { backend: id, from: 'READY', to: 'UNREADY' })).toBe(1);
  expect(await metric(stack, 'infergate_health_checks_total', { backend: id, result: 'fail' })).toBe(2);
  expect(await metric(stack, 'infergate_backend_up', { backend: id })).toBe(0);
  const refused = await request(`${stack.url}/x`);
  expect(refused.status).toBe(503);
  expect(model.requests.filter(isUser)).toEqual([]);

  model.setStatus('/live', 200);
  await clock.waitFor(5000, 3);
  clock.advance(5000);
  await waitState(stack, id, 'READY');
  expect((await view(stack, id)).stateReason).toBe('liveness /live passed again');
  expect((await request(`${stack.url}/x`)).status).toBe(200);
  expect(model.requests.filter(isUser)).toHaveLength(1);
});

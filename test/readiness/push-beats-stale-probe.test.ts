// A push is newer than a readiness probe already in flight: that probe's late answer must not undo the push.
import { afterEach, expect, test } from 'vitest';
import { startHealthBackend, type HealthBackend } from '../health/health-backend.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { adminAction, backendOf, idOf, until, view, waitState } from './support.js';

let target: HealthBackend;
let stack: Stack;
afterEach(async () => {
  await stack.close();
  await target.close();
});

const CONFIG = (url: string): string => `
pools:
  p:
    health: { jitter: 0, readiness: { path: /health, interval: 7s, timeout: 1m, healthyThreshold: 1, unhealthyThreshold: 1 } }
    backends: [${url}]
`;

test('/unready while a probe is in flight: its late "healthy" answer does not bring the backend back', async () => {
  target = await startHealthBackend();
  const clock = new ManualClock();
  stack = await startStack(CONFIG(target.url), { deps: { clock } });
  const id = idOf(target.port);
  await clock.waitFor(7_000, 1);

  target.hang();
  clock.advance(7_000);
  await target.waitProbes(2); // the second probe is held by the backend
  expect((await adminAction(stack, id, 'unready')).status).toBe(200);
  expect(backendOf(stack, id).state()).toBe('UNREADY');

  target.setHealth(200); // answers the held probe: taken before the push, so stale
  await clock.waitFor(7_000, 2);
  expect((await view(stack, id)).state).toBe('UNREADY');

  clock.advance(7_000); // a probe sent after the push counts
  await waitState(stack, id, 'READY');
});

test('/ready while a probe is in flight: its late "not ready" answer does not send the backend back to LOADING', async () => {
  target = await startHealthBackend({ status: 503 });
  const clock = new ManualClock();
  stack = await startStack(CONFIG(target.url), { waitReady: false, deps: { clock } });
  const id = idOf(target.port);
  await clock.waitFor(7_000, 1);

  target.hang();
  clock.advance(7_000);
  await target.waitProbes(2);
  expect((await adminAction(stack, id, 'ready')).status).toBe(200);
  expect(backendOf(stack, id).state()).toBe('READY');

  target.setHealth(503); // the model server's readiness endpoint lagged behind its push
  await clock.waitFor(7_000, 2);
  await until(stack, () => true, 'one round trip');
  expect((await view(stack, id)).state).toBe('READY');
});

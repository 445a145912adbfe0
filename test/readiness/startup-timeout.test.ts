// startupTimeout: a model that does not load in time is reported (error log, UNREADY with the reason), and
// probing goes on, so a late load is still admitted. Driven by an injected clock.
import { afterEach, expect, test } from 'vitest';
import { ManualClock } from '../helpers/manual-clock.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { backendOf, idOf, startModel, view, waitState, type Model } from './support.js';

let model: Model;
let stack: Stack;
afterEach(async () => {
  await stack.close();
  await model.close();
});

test('expiry: UNREADY with the reason in /admin/backends and an error log; a late load becomes READY', async () => {
  model = await startModel({ '/health': 503 });
  const clock = new ManualClock();
  stack = await startStack(`
pools:
  p:
    health: { jitter: 0, startupTimeout: 30s, readiness: { path: /health, interval: 1s, timeout: 500ms } }
    backends: [${model.url}]
`, { waitReady: false, deps: { clock } });
  const id = idOf(model.port);
  await clock.waitFor(1000, 1); // first probe answered (503), next one scheduled
  expect(backendOf(stack, id).state()).toBe('LOADING');

  // One probe interval at a time: a single long jump would also fire the timeout of the probe it starts.
  for (let n = 2; n <= 30; n++) {
    clock.advance(1000);
    await clock.waitFor(1000, n);
  }
  clock.advance(999); // 29.999 s after start
  expect(backendOf(stack, id).state()).toBe('LOADING');
  expect(stack.logs.some((l) => typeof l.msg === 'string' && l.msg.includes('did not load'))).toBe(false);

  clock.advance(1);
  const v = await view(stack, id);
  expect(v.state).toBe('UNREADY');
  expect(v.stateReason).toBe('model did not load within 30 s (last probe: status 503); still probing');
  const line = stack.logs.find((l) => l.msg === v.stateReason);
  expect(line).toMatchObject({ level: 'error', backend: id, pool: 'p', startupTimeoutMs: 30_000 });
  expect(stack.logs.filter((l) => l.msg === 'backend state changed' && l.backend === id).map((l) => `${String(l.from)}->${String(l.to)}`)).toEqual(['LOADING->UNREADY']);

  // Probing continues: the model loads late and is admitted.
  model.setStatus('/health', 200);
  await clock.waitFor(1000, 31); // the probe started at 30 s has been answered
  clock.advance(1000);
  await waitState(stack, id, 'READY');
  expect((await view(stack, id)).stateReason).toBe('readiness /health passed');
});

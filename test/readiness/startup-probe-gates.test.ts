// The startup probe gates everything: LOADING (readiness not even asked) until it passes, then readiness decides.
import { afterEach, expect, test } from 'vitest';
import { ManualClock } from '../helpers/manual-clock.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { backendOf, idOf, isUser, probeRound, request, view, waitState, type Model, startModel } from './support.js';

let model: Model;
let stack: Stack;
afterEach(async () => {
  await stack.close();
  await model.close();
});

test('LOADING while the startup probe fails, although readiness would pass; READY once it passes', async () => {
  model = await startModel({ '/started': 503, '/health': 200 });
  const clock = new ManualClock();
  stack = await startStack(`
pools:
  p:
    queue: false
    health: { jitter: 0, startup: { path: /started, interval: 3s }, readiness: { path: /health, interval: 7s } }
    backends: [${model.url}]
`, { waitReady: false, deps: { clock } });
  const id = idOf(model.port);
  const b = backendOf(stack, id);
  await clock.waitFor(3_000, 1); // the first startup verdict (at once)
  await probeRound(clock, 3_000); // and a second one
  const v = await view(stack, id);
  expect(v.state).toBe('LOADING');
  expect(v.lastProbe).toMatchObject({ ok: false, status: 503, role: 'startup', path: '/started', at: 1_700_000_003_000 });
  // Readiness was never asked while the startup probe failed.
  expect(clock.count(7_000)).toBe(0);
  expect((await request(`${stack.url}/x`)).status).toBe(503);
  expect(model.requests.filter(isUser)).toEqual([]);

  model.setStatus('/started', 200);
  clock.advance(3_000); // startup passes at 6 s (and stops); the first readiness probe follows at once
  await clock.waitFor(7_000, 1);
  await waitState(stack, id, 'READY');
  expect(b.lastProbe).toMatchObject({ ok: true, role: 'readiness', path: '/health', at: 1_700_000_006_000 });
  expect((await request(`${stack.url}/x`)).status).toBe(200);
  expect(model.requests.filter(isUser).map((s) => s.url)).toEqual(['/x']);
});

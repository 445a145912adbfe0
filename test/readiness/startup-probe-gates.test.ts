// The startup probe gates everything: LOADING (readiness not even asked) until it passes, then readiness decides.
import { afterEach, expect, test } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { backendOf, idOf, isUser, request, until, view, waitState, type Model, startModel } from './support.js';

let model: Model;
let stack: Stack;
afterEach(async () => {
  await stack.close();
  await model.close();
});

test('LOADING while the startup probe fails, although readiness would pass; READY once it passes', async () => {
  model = await startModel({ '/started': 503, '/health': 200 });
  stack = await startStack(`
pools:
  p:
    queue: false
    health: { jitter: 0, startup: { path: /started, interval: 20ms }, readiness: { path: /health, interval: 20ms } }
    backends: [${model.url}]
`, { waitReady: false });
  const id = idOf(model.port);
  const b = backendOf(stack, id);
  await until(stack, () => b.lastProbe !== null, 'the first startup verdict');
  const before = b.lastProbe;
  await until(stack, () => b.lastProbe !== before, 'a second startup verdict');
  const v = await view(stack, id);
  expect(v.state).toBe('LOADING');
  expect(v.lastProbe).toMatchObject({ ok: false, status: 503, role: 'startup', path: '/started' });
  expect((await request(`${stack.url}/x`)).status).toBe(503);
  expect(model.requests.filter(isUser)).toEqual([]);

  model.setStatus('/started', 200);
  await waitState(stack, id, 'READY');
  expect((await request(`${stack.url}/x`)).status).toBe(200);
  expect(model.requests.filter(isUser).map((s) => s.url)).toEqual(['/x']);
});

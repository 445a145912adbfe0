// POST /admin/backends/{id}/ready opens the readiness gate early: admission and warm-up still run, then READY.
import { afterEach, expect, test } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { adminAction, backendOf, changes, idOf, isUser, isWarmup, request, startModel, until, view, waitState, type Model } from './support.js';

let model: Model;
let stack: Stack;
afterEach(async () => {
  await stack.close();
  await model.close();
});

test('a push on a backend whose readiness probe has not passed: admitted, warmed, READY', async () => {
  model = await startModel({ '/health': 503, '/meta': { status: 200, body: { name: 'iris', version: '4' } } });
  stack = await startStack(`
pools:
  p:
    health: { jitter: 0, readiness: { path: /health, interval: 1h }, model: { name: iris, version: "4", metadataPath: /meta } }
    warmup: { requests: 2, path: /predict, body: '{}' }
    backends: [${model.url}]
`, { waitReady: false });
  const id = idOf(model.port);
  await until(stack, () => backendOf(stack, id).lastProbe !== null, 'the first readiness verdict');
  expect((await view(stack, id)).state).toBe('LOADING');

  const res = await adminAction(stack, id, 'ready');
  expect(res.status).toBe(200);
  expect(((await res.json()) as { backend: { id: string } }).backend.id).toBe(id);
  await waitState(stack, id, 'READY');

  const v = await view(stack, id);
  expect(v.admission).toMatchObject({ ok: true, found: { name: 'iris', version: '4' } });
  expect(v.warmup).toMatchObject({ ok: true });
  expect(v.lastProbe).toMatchObject({ ok: false, status: 503 }); // the probe itself never passed
  expect(model.requests.filter(isWarmup)).toHaveLength(2);
  expect(changes(stack, id)).toEqual(['LOADING->WARMING', 'WARMING->READY']);
  expect(stack.logs.find((l) => l.msg === 'backend state changed' && l.to === 'WARMING')).toMatchObject({ reason: 'model admitted (name iris, version 4)' });

  expect((await request(`${stack.url}/predict`, { method: 'POST', body: '{}' })).status).toBe(200);
  expect(model.requests.filter(isUser)).toHaveLength(1);
});

test('an unknown id answers 404', async () => {
  model = await startModel({ '/health': 200 });
  stack = await startStack(`
pools:
  p:
    backends: [${model.url}]
`);
  const res = await adminAction(stack, 'p.default.127.0.0.1:1', 'ready');
  expect(res.status).toBe(404);
  expect(await res.json()).toMatchObject({ error: 'unknown-backend' });
});

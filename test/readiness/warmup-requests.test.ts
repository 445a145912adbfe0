// Warm-up: an admitted backend is WARMING and gets exactly the configured warm-up requests, and no user
// request until all of them have succeeded.
import { afterEach, expect, test } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { deferred, idOf, isWarmup, metric, request, startModel, until, view, waitState, type Model } from './support.js';

let model: Model;
let stack: Stack;
afterEach(async () => {
  await stack.close();
  await model.close();
});

test('3 warm-up requests with the configured method, path, headers and body; the user request waits for them', async () => {
  model = await startModel({ '/health': 200 });
  const gate = deferred();
  model.handle((_req, res, seen) => {
    const answer = (): void => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    };
    if (isWarmup(seen)) void gate.promise.then(answer);
    else answer();
  });
  stack = await startStack(`
pools:
  p:
    health: { jitter: 0, readiness: { path: /health, interval: 1h } }
    warmup: { requests: 3, method: put, path: /predictions/mlp, headers: { x-model: mlp }, body: '{"data":[1,2]}' }
    backends: [${model.url}]
`, { waitReady: false });
  const id = idOf(model.port);
  await model.waitFor(isWarmup, 1);
  expect((await view(stack, id)).state).toBe('WARMING');

  const pending = request(`${stack.url}/predictions/mlp`, { method: 'POST', body: '{"user":true}' });
  await until(stack, async () => (await metric(stack, 'infergate_queue_length', { pool: 'p' })) === 1, 'the user request to wait');
  expect(model.requests).toHaveLength(1); // only the first warm-up request so far (concurrency 1)

  gate.resolve();
  const reply = await pending;
  expect(reply.status).toBe(200);
  expect(model.requests.map((s) => `${s.method} ${s.url} ${String(s.headers['x-infergate-warmup'] ?? 'user')}`)).toEqual([
    'PUT /predictions/mlp 1',
    'PUT /predictions/mlp 2',
    'PUT /predictions/mlp 3',
    'POST /predictions/mlp user',
  ]);
  for (const w of model.warmups) {
    expect(w.body).toBe('{"data":[1,2]}');
    expect(w.headers['x-model']).toBe('mlp');
    expect(w.headers['content-type']).toBe('application/json');
  }
  await waitState(stack, id, 'READY');
  const v = await view(stack, id);
  expect(v.warmup).toMatchObject({ ok: true, reason: null });
  expect(v.stateReason).toMatch(/^warm-up done: 3 request\(s\) in \d+ ms$/);
  expect(await metric(stack, 'infergate_warmups_total', { backend: id, result: 'done' })).toBe(1);
});

// TorchServe through the app: /ping 200 {"status":"Unhealthy"} is a failed check, and with model.name the model's
// worker must be READY on the management API; no user request reaches the backend before it is READY.
import { afterEach, expect, test } from 'vitest';
import { FakeTorchServe } from '../fakes/index.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { backendOf, idOf, metric, request, until, view, waitState } from './support.js';

let fake: FakeTorchServe;
let stack: Stack;
afterEach(async () => {
  await stack.close();
  await fake.close();
});

const FAST = 'jitter: 0, startup: { interval: 20ms }, readiness: { interval: 20ms }';

/** Send one prediction while the backend is not READY: it must wait, and reach the server only once READY. */
async function predictionWaitsForReady(finish: () => void): Promise<void> {
  const id = idOf(fake.port);
  const statesAtInference: string[] = [];
  fake.events.on('inference', () => statesAtInference.push(backendOf(stack, id).state()));
  const pending = request(`${stack.url}/predictions/mlp`, { method: 'POST', body: '{"x":1}' });
  await until(stack, async () => (await metric(stack, 'infergate_queue_length', { pool: 'p' })) === 1, 'the prediction to wait in the queue');
  expect(fake.inferenceRequests).toBe(0);
  finish();
  const reply = await pending;
  expect(reply.status).toBe(200);
  expect(statesAtInference).toEqual(['READY']);
}

test('/ping answering 200 {"status":"Unhealthy"} counts as failed: LOADING until it says Healthy', async () => {
  fake = await new FakeTorchServe().start();
  fake.setUnhealthyBody(); // aws/deep-learning-containers#2917
  stack = await startStack(`
pools:
  p:
    health: { preset: torchserve, ${FAST} }
    backends: [${fake.url}]
`, { waitReady: false });
  const id = idOf(fake.port);
  await until(stack, () => backendOf(stack, id).lastProbe?.role === 'readiness', 'a readiness verdict');
  const v = await view(stack, id);
  expect(v.state).toBe('LOADING');
  expect(v.lastProbe).toMatchObject({ ok: false, status: 200, path: '/ping', error: 'body /status is "Unhealthy", expected "Healthy"' });
  await predictionWaitsForReady(() => fake.setUnhealthyBody(false));
});

test('model.name: /ping Healthy with the model not registered yet (pytorch/serve#2434) stays LOADING', async () => {
  fake = await new FakeTorchServe({ registerLate: true, loadDelayMs: 3_600_000 }).start();
  stack = await startStack(`
pools:
  p:
    health: { preset: torchserve, ${FAST}, managementPort: ${fake.managementPort}, model: { name: mlp } }
    backends: [${fake.url}]
`, { waitReady: false });
  const id = idOf(fake.port);
  await until(stack, () => backendOf(stack, id).lastProbe?.role === 'model-ready', 'a management check');
  const v = await view(stack, id);
  expect(v.state).toBe('LOADING');
  expect(v.lastProbe).toMatchObject({ ok: false, status: 404, path: '/models/mlp' });
  await predictionWaitsForReady(() => fake.finishLoading());
  expect((await view(stack, id)).admission).toMatchObject({ ok: true, found: { name: 'mlp', version: '1' } });
});

test('model.name: a worker that is not READY on the management API keeps it LOADING even when /ping passes', async () => {
  fake = await new FakeTorchServe({ loadDelayMs: 3_600_000 }).start();
  // expectBody: null lets the legacy /ping (200 while loading) pass, so only the worker status holds the backend back.
  stack = await startStack(`
pools:
  p:
    health: { preset: torchserve, jitter: 0, startup: { interval: 20ms }, readiness: { interval: 20ms, expectBody: null }, managementPort: ${fake.managementPort}, model: { name: mlp } }
    backends: [${fake.url}]
`, { waitReady: false });
  const id = idOf(fake.port);
  await until(stack, () => backendOf(stack, id).lastProbe?.role === 'model-ready', 'a management check');
  const v = await view(stack, id);
  expect(v.state).toBe('LOADING');
  expect(v.lastProbe).toMatchObject({ ok: false, status: 200, error: 'body /0/workers/0/status is "UNLOADING", expected "READY"' });
  await predictionWaitsForReady(() => fake.finishLoading());
  await waitState(stack, id, 'READY');
});

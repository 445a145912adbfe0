// TorchServe through the app: /ping 200 {"status":"Unhealthy"} is a failed check, and with model.name the model's
// worker must be READY on the management API; no user request reaches the backend before it is READY.
import { afterEach, expect, test } from 'vitest';
import { FakeTorchServe } from '../fakes/index.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { idOf, metric, probeRound, request, until, view, waitState } from './support.js';

let fake: FakeTorchServe;
let stack: Stack;
let clock: ManualClock;
afterEach(async () => {
  await stack.close();
  await fake.close();
});

// Startup passes at once (the port is open); readiness then runs every 7 s of the test's clock.
const PROBES = 'jitter: 0, startup: { interval: 3s }, readiness: { interval: 7s }';

async function boot(health: string): Promise<void> {
  clock = new ManualClock();
  stack = await startStack(`
pools:
  p:
    health: { preset: torchserve, ${health} }
    backends: [${fake.url}]
`, { waitReady: false, deps: { clock } });
  await clock.waitFor(7_000, 1); // the first readiness verdict
}

/** Send one prediction while the backend is not READY: it must wait, and reach the server only after the next readiness round. */
async function predictionWaitsForReady(finish: () => void): Promise<void> {
  const id = idOf(fake.port);
  const statesAtInference: string[] = [];
  fake.events.on('inference', () => statesAtInference.push(stack.app.backend(id)!.state()));
  const pending = request(`${stack.url}/predictions/mlp`, { method: 'POST', body: '{"x":1}' });
  await until(stack, async () => (await metric(stack, 'infergate_queue_length', { pool: 'p' })) === 1, 'the prediction to wait in the queue');
  expect(fake.inferenceRequests).toBe(0);
  finish();
  await fetch(`${stack.adminUrl}/healthz`); // a round trip later: still waiting, nothing moves before the next probe
  expect(fake.inferenceRequests).toBe(0);
  await probeRound(clock, 7_000);
  const reply = await pending;
  expect(reply.status).toBe(200);
  expect(statesAtInference).toEqual(['READY']);
}

test('/ping answering 200 {"status":"Unhealthy"} counts as failed: LOADING until it says Healthy', async () => {
  fake = await new FakeTorchServe().start();
  fake.setUnhealthyBody(); // aws/deep-learning-containers#2917
  await boot(PROBES);
  const id = idOf(fake.port);
  const v = await view(stack, id);
  expect(v.state).toBe('LOADING');
  expect(v.lastProbe).toMatchObject({ ok: false, role: 'readiness', status: 200, path: '/ping', error: 'body /status is "Unhealthy", expected "Healthy"' });
  await predictionWaitsForReady(() => fake.setUnhealthyBody(false));
});

test('model.name: /ping Healthy with the model not registered yet (pytorch/serve#2434) stays LOADING', async () => {
  fake = await new FakeTorchServe({ registerLate: true, loadDelayMs: 3_600_000 }).start();
  await boot(`${PROBES}, managementPort: ${fake.managementPort}, model: { name: mlp }`);
  const id = idOf(fake.port);
  const v = await view(stack, id);
  expect(v.state).toBe('LOADING');
  expect(v.lastProbe).toMatchObject({ ok: false, role: 'model-ready', status: 404, path: '/models/mlp' });
  await predictionWaitsForReady(() => fake.finishLoading());
  expect((await view(stack, id)).admission).toMatchObject({ ok: true, found: { name: 'mlp', version: '1' } });
});

test('model.name: a worker that is not READY on the management API keeps it LOADING even when /ping passes', async () => {
  fake = await new FakeTorchServe({ loadDelayMs: 3_600_000 }).start();
  // expectBody: null lets the legacy /ping (200 while loading) pass, so only the worker status holds the backend back.
  await boot(`jitter: 0, startup: { interval: 3s }, readiness: { interval: 7s, expectBody: null }, managementPort: ${fake.managementPort}, model: { name: mlp }`);
  const id = idOf(fake.port);
  const v = await view(stack, id);
  expect(v.state).toBe('LOADING');
  expect(v.lastProbe).toMatchObject({ ok: false, role: 'model-ready', status: 200, error: 'body /0/workers/0/status is "UNLOADING", expected "READY"' });
  await predictionWaitsForReady(() => fake.finishLoading());
  await waitState(stack, id, 'READY');
});

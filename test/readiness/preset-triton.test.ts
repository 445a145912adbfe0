// Triton through the app: per-model ready when a model is named, so another model loading (server#7014) does
// not take a serving backend out; without a model name the server-level ready is all there is.
import { afterEach, expect, test } from 'vitest';
import { FakeTriton } from '../fakes/index.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { backendOf, idOf, metric, probeRound, request, until, view, waitState } from './support.js';

let fake: FakeTriton;
let stack: Stack;
afterEach(async () => {
  await stack.close();
  await fake.close();
});

const INFER = { method: 'POST', body: '{"inputs":[]}' };

test('per-model ready gates LOADING -> READY, and stays READY while another model loads (#7014)', async () => {
  fake = await new FakeTriton({ loadDelayMs: 3_600_000 }).start();
  const clock = new ManualClock();
  stack = await startStack(`
pools:
  p:
    health: { preset: triton, jitter: 0, startup: { interval: 3s }, readiness: { interval: 7s, unhealthyThreshold: 1 }, model: { name: densenet_onnx } }
    backends: [${fake.url}]
`, { waitReady: false, deps: { clock } });
  const id = idOf(fake.port);
  await clock.waitFor(7_000, 1); // startup passed at once, then the first readiness verdict
  expect((await view(stack, id)).lastProbe).toMatchObject({ ok: false, role: 'readiness', status: 400, path: '/v2/models/densenet_onnx/ready' });

  const statesAtInference: string[] = [];
  fake.events.on('inference', () => statesAtInference.push(backendOf(stack, id).state()));
  const pending = request(`${stack.url}/v2/models/densenet_onnx/infer`, INFER);
  await until(stack, async () => (await metric(stack, 'infergate_queue_length', { pool: 'p' })) === 1, 'the request to queue');
  expect(fake.inferenceRequests).toBe(0);
  fake.finishLoading();
  await fetch(`${stack.adminUrl}/healthz`); // a round trip later: still waiting for the next probe
  expect(fake.inferenceRequests).toBe(0);
  await probeRound(clock, 7_000);
  expect((await pending).status).toBe(200);
  expect(statesAtInference).toEqual(['READY']);

  fake.loadOtherModel(3_600_000);
  expect(fake.serverReady).toBe(false);
  // Three readiness rounds pass while the other model loads (unhealthyThreshold 1 would flip at the first failure).
  for (let i = 0; i < 3; i++) {
    await probeRound(clock, 7_000);
    expect(backendOf(stack, id).lastProbe).toMatchObject({ ok: true, role: 'readiness', path: '/v2/models/densenet_onnx/ready' });
    expect(backendOf(stack, id).state()).toBe('READY');
  }
  expect((await request(`${stack.url}/v2/models/densenet_onnx/infer`, INFER)).status).toBe(200);
});

test('contrast: without a model name the server-level ready turns false while another model loads', async () => {
  fake = await new FakeTriton().start();
  const clock = new ManualClock();
  stack = await startStack(`
pools:
  p:
    health: { preset: triton, jitter: 0, startup: { interval: 3s }, readiness: { interval: 7s, unhealthyThreshold: 1 } }
    backends: [${fake.url}]
`, { deps: { clock } });
  const id = idOf(fake.port);
  await clock.waitFor(7_000, 1); // the first readiness verdict
  fake.loadOtherModel(3_600_000);
  await probeRound(clock, 7_000);
  await waitState(stack, id, 'UNREADY');
  expect((await view(stack, id)).lastProbe).toMatchObject({ ok: false, status: 400, path: '/v2/health/ready' });
});

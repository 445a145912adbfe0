// KServe v2 through the app: with a model name the per-model ready endpoint gates the backend; no user request before READY.
import { afterEach, expect, test } from 'vitest';
import { FakeKServe } from '../fakes/index.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { backendOf, idOf, metric, probeRound, request, until, view } from './support.js';

let fake: FakeKServe;
let stack: Stack;
afterEach(async () => {
  await stack.close();
  await fake.close();
});

test('LOADING while /v2/models/{name}/ready answers 503, READY once the model loads; the waiting request then goes through', async () => {
  fake = await new FakeKServe({ loadDelayMs: 3_600_000, version: '3' }).start();
  const clock = new ManualClock();
  stack = await startStack(`
pools:
  p:
    health: { preset: kserve-v2, jitter: 0, startup: { interval: 3s }, readiness: { interval: 7s }, model: { name: sklearn-iris, version: "3" } }
    backends: [${fake.url}]
`, { waitReady: false, deps: { clock } });
  const id = idOf(fake.port);
  await clock.waitFor(7_000, 1); // startup passed at once, then the first readiness verdict
  const v = await view(stack, id);
  expect(v.state).toBe('LOADING');
  expect(v.lastProbe).toMatchObject({ ok: false, status: 503, path: '/v2/models/sklearn-iris/ready' });

  const statesAtInference: string[] = [];
  fake.events.on('inference', () => statesAtInference.push(backendOf(stack, id).state()));
  const pending = request(`${stack.url}/v2/models/sklearn-iris/infer`, { method: 'POST', body: '{"inputs":[]}' });
  await until(stack, async () => (await metric(stack, 'infergate_queue_length', { pool: 'p' })) === 1, 'the request to queue');
  expect(fake.inferenceRequests).toBe(0);
  fake.finishLoading();
  await fetch(`${stack.adminUrl}/healthz`); // a round trip later: still waiting for the next probe
  expect(fake.inferenceRequests).toBe(0);
  // Sent after the next readiness probe (7 s, within the 10 s queue timeout).
  await probeRound(clock, 7_000);
  expect((await pending).status).toBe(200);
  expect(statesAtInference).toEqual(['READY']);
  expect((await view(stack, id)).admission).toMatchObject({ ok: true, found: { name: 'sklearn-iris', version: '3' } });
});

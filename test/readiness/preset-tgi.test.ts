// TGI through the app: connections fail while the shards load (LOADING), READY once /health answers; no request before.
import { afterEach, expect, test } from 'vitest';
import { FakeTgi } from '../fakes/index.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { backendOf, idOf, metric, request, until, view } from './support.js';

let fake: FakeTgi;
let stack: Stack;
afterEach(async () => {
  await stack.close();
  await fake.close();
});

test('connection refused while loading keeps it LOADING; READY after load; the waiting generation then goes through', async () => {
  fake = await new FakeTgi({ loadDelayMs: 3_600_000 }).start();
  stack = await startStack(`
pools:
  p:
    health: { preset: tgi, jitter: 0, startup: { interval: 20ms }, readiness: { interval: 20ms } }
    backends: [${fake.url}]
`, { waitReady: false });
  const id = idOf(fake.port);
  await until(stack, () => backendOf(stack, id).lastProbe !== null, 'a probe verdict');
  const v = await view(stack, id);
  expect(v.state).toBe('LOADING');
  expect(v.lastProbe).toMatchObject({ ok: false, status: null, role: 'startup', path: '/health' });

  const statesAtInference: string[] = [];
  fake.events.on('inference', () => statesAtInference.push(backendOf(stack, id).state()));
  const pending = request(`${stack.url}/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"inputs":"hi"}' });
  await until(stack, async () => (await metric(stack, 'infergate_queue_length', { pool: 'p' })) === 1, 'the request to queue');
  expect(fake.inferenceRequests).toBe(0);
  fake.finishLoading();
  const reply = await pending;
  expect(reply.status).toBe(200);
  expect(JSON.parse(reply.body.toString())).toHaveProperty('generated_text');
  expect(statesAtInference).toEqual(['READY']);
});

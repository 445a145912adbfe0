// TGI through the app: connections fail while the shards load (LOADING), READY once /health answers; no request before.
import { afterEach, expect, test } from 'vitest';
import { FakeTgi } from '../fakes/index.js';
import { ManualClock } from '../helpers/manual-clock.js';
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
  const clock = new ManualClock();
  stack = await startStack(`
pools:
  p:
    health: { preset: tgi, jitter: 0, startup: { interval: 3s }, readiness: { interval: 7s } }
    backends: [${fake.url}]
`, { waitReady: false, deps: { clock } });
  const id = idOf(fake.port);
  await clock.waitFor(3_000, 1); // the first startup verdict
  const v = await view(stack, id);
  expect(v.state).toBe('LOADING');
  expect(v.lastProbe).toMatchObject({ ok: false, status: null, role: 'startup', path: '/health' });

  const statesAtInference: string[] = [];
  fake.events.on('inference', () => statesAtInference.push(backendOf(stack, id).state()));
  const pending = request(`${stack.url}/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"inputs":"hi"}' });
  await until(stack, async () => (await metric(stack, 'infergate_queue_length', { pool: 'p' })) === 1, 'the request to queue');
  expect(fake.inferenceRequests).toBe(0);
  fake.finishLoading();
  await fetch(`${stack.adminUrl}/healthz`); // a round trip later: still waiting for the next probe
  expect(fake.inferenceRequests).toBe(0);
  clock.advance(3_000); // the next startup probe passes; readiness follows at once
  const reply = await pending;
  expect(reply.status).toBe(200);
  expect(JSON.parse(reply.body.toString())).toHaveProperty('generated_text');
  expect(statesAtInference).toEqual(['READY']);
});

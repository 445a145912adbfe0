// vLLM through the app: connections fail while the engine loads (LOADING), READY once it answers; no request before.
import { afterEach, expect, test } from 'vitest';
import { FakeVllm } from '../fakes/index.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { backendOf, idOf, metric, request, until, view } from './support.js';

let fake: FakeVllm;
let stack: Stack;
afterEach(async () => {
  await stack.close();
  await fake.close();
});

test('connection refused while loading keeps it LOADING; READY after load; the waiting completion then goes through', async () => {
  fake = await new FakeVllm({ loadDelayMs: 3_600_000 }).start();
  const clock = new ManualClock();
  stack = await startStack(`
pools:
  p:
    health: { preset: vllm, jitter: 0, startup: { interval: 3s }, readiness: { interval: 7s }, model: { name: meta-llama/Llama-3.1-8B-Instruct } }
    backends: [${fake.url}]
`, { waitReady: false, deps: { clock } });
  const id = idOf(fake.port);
  await clock.waitFor(3_000, 1); // the first startup verdict
  const v = await view(stack, id);
  expect(v.state).toBe('LOADING');
  expect(v.lastProbe).toMatchObject({ ok: false, status: null, role: 'startup', path: '/health' });
  // A connection error, never an HTTP answer (the fake drops every connection, as vLLM's port is not open yet).
  expect(v.lastProbe?.error).toMatch(/^UND_ERR_SOCKET: other side closed$|ECONNRESET/);

  const statesAtInference: string[] = [];
  fake.events.on('inference', () => statesAtInference.push(backendOf(stack, id).state()));
  const pending = request(`${stack.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"prompt":"hi","max_tokens":2}' });
  await until(stack, async () => (await metric(stack, 'infergate_queue_length', { pool: 'p' })) === 1, 'the request to queue');
  expect(fake.inferenceRequests).toBe(0);
  fake.finishLoading();
  await fetch(`${stack.adminUrl}/healthz`); // a round trip later: still waiting for the next probe
  expect(fake.inferenceRequests).toBe(0);
  clock.advance(3_000); // the next startup probe passes; readiness follows at once
  const reply = await pending;
  expect(reply.status).toBe(200);
  expect(JSON.parse(reply.body.toString())).toMatchObject({ object: 'text_completion' });
  expect(statesAtInference).toEqual(['READY']);
  expect((await view(stack, id)).admission).toMatchObject({ ok: true, found: { name: 'meta-llama/Llama-3.1-8B-Instruct' } });
});

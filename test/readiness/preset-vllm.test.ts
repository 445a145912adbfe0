// vLLM through the app: connections fail while the engine loads (LOADING), READY once it answers; no request before.
import { afterEach, expect, test } from 'vitest';
import { FakeVllm } from '../fakes/index.js';
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
  stack = await startStack(`
pools:
  p:
    health: { preset: vllm, jitter: 0, startup: { interval: 20ms }, readiness: { interval: 20ms }, model: { name: meta-llama/Llama-3.1-8B-Instruct } }
    backends: [${fake.url}]
`, { waitReady: false });
  const id = idOf(fake.port);
  await until(stack, () => backendOf(stack, id).lastProbe !== null, 'a probe verdict');
  const v = await view(stack, id);
  expect(v.state).toBe('LOADING');
  expect(v.lastProbe).toMatchObject({ ok: false, status: null, role: 'startup', path: '/health' });
  expect(v.lastProbe?.error).toBeTruthy();

  const statesAtInference: string[] = [];
  fake.events.on('inference', () => statesAtInference.push(backendOf(stack, id).state()));
  const pending = request(`${stack.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"prompt":"hi","max_tokens":2}' });
  await until(stack, async () => (await metric(stack, 'infergate_queue_length', { pool: 'p' })) === 1, 'the request to queue');
  expect(fake.inferenceRequests).toBe(0);
  fake.finishLoading();
  const reply = await pending;
  expect(reply.status).toBe(200);
  expect(JSON.parse(reply.body.toString())).toMatchObject({ object: 'text_completion' });
  expect(statesAtInference).toEqual(['READY']);
  expect((await view(stack, id)).admission).toMatchObject({ ok: true, found: { name: 'meta-llama/Llama-3.1-8B-Instruct' } });
});

import { once } from 'node:events';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { admit } from '../../../src/health/metadata.js';
import { presetFor } from '../../../src/health/presets/index.js';
import { FakeVllm } from '../../fakes/index.js';
import { ManualClock } from '../../helpers/manual-clock.js';
import { model, post, readFacts, runProbe, sseData } from './run-probe.js';

const preset = presetFor('vllm');
const NAME = 'meta-llama/Llama-3.1-8B-Instruct';
let fake: FakeVllm;

afterEach(async () => {
  await fake.close();
});

describe('vllm preset against a fake vLLM server', () => {
  it('gets no HTTP answer while the engine loads (connection error), 200 after', async () => {
    const clock = new ManualClock();
    fake = await new FakeVllm({ loadDelayMs: 20_000, clock }).start();
    const probes = preset.probes(model(NAME));
    const loading = await runProbe(probes.readiness, fake.url);
    expect(loading.ok).toBe(false);
    expect(loading.status).toBeNull();
    expect((await runProbe(probes.startup!, fake.url)).ok).toBe(false);
    clock.advance(20_000);
    expect(await runProbe(probes.readiness, fake.url)).toMatchObject({ ok: true, status: 200 });
    expect((await runProbe(probes.liveness!, fake.url)).ok).toBe(true);
  });

  it('fails readiness and liveness with 503 when the engine dies', async () => {
    fake = await new FakeVllm().start();
    fake.setEngineDead();
    const probes = preset.probes(model(null));
    expect(await runProbe(probes.readiness, fake.url)).toMatchObject({ ok: false, status: 503 });
    expect((await runProbe(probes.liveness!, fake.url)).ok).toBe(false);
  });

  it('reads the served model id from /v1/models; no version or checksum', async () => {
    fake = await new FakeVllm({ model: 'llama-3-v2', root: '/models/llama-3' }).start();
    const facts = await readFacts(preset, model('llama-3-v2'), fake.url);
    expect(facts).toMatchObject({ name: 'llama-3-v2', version: null, checksum: null });
    const wanted = model('llama-3-v3', null, null);
    expect(admit(wanted, facts!)).toEqual({ ok: false, mismatches: [{ field: 'name', expected: 'llama-3-v3', found: 'llama-3-v2' }] });
    expect(admit(model('llama-3-v2', '2'), facts!)).toEqual({ ok: false, mismatches: [{ field: 'version', expected: '2', found: null }] });
  });

  it('streams chat completions as SSE ending in [DONE], counting one inference request', async () => {
    fake = await new FakeVllm().start();
    await runProbe(preset.probes(model(null)).readiness, fake.url);
    const res = await post(`${fake.url}/v1/chat/completions`, { model: NAME, stream: true, max_tokens: 3, messages: [{ role: 'user', content: 'hi' }] });
    expect(res.status).toBe(200);
    expect(res.contentType).toBe('text/event-stream');
    const data = sseData(res.text);
    expect(data).toHaveLength(4);
    expect(data[3]).toBe('[DONE]');
    expect(JSON.parse(data[0]!)).toMatchObject({ object: 'chat.completion.chunk', choices: [{ delta: { role: 'assistant' } }] });
    const completion = await post(`${fake.url}/v1/completions`, { model: NAME, prompt: 'x', max_tokens: 2 });
    expect(JSON.parse(completion.text)).toMatchObject({ object: 'text_completion', choices: [{ text: 'tok0 tok1 ' }] });
    expect(fake.inferenceRequests).toBe(2);
    expect(fake.probeRequests).toBe(1);
  });

  it('answers 404 for another model name, 500 at failRate 1', async () => {
    fake = await new FakeVllm({ failRate: 1 }).start();
    expect((await post(`${fake.url}/v1/completions`, { model: 'other', prompt: 'x' })).status).toBe(404);
    expect((await post(`${fake.url}/v1/completions`, { model: NAME, prompt: 'x' })).status).toBe(500);
  });

  it('notices a client that leaves mid-stream', async () => {
    fake = await new FakeVllm({ tokenIntervalMs: 5 }).start();
    const aborted = once(fake.events, 'stream-aborted');
    const res = await request(`${fake.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: NAME, prompt: 'x', stream: true, max_tokens: 10_000 }) });
    for await (const _chunk of res.body) break; // first token, then hang up
    await aborted;
    expect(fake.streamsAborted).toBe(1);
  });
});

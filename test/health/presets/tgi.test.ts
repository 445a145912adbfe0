import { afterEach, describe, expect, it } from 'vitest';
import { admit } from '../../../src/health/metadata.js';
import { presetFor } from '../../../src/health/presets/index.js';
import { FakeTgi } from '../../fakes/index.js';
import { ManualClock } from '../../helpers/manual-clock.js';
import { model, post, readFacts, runProbe, sseData } from './run-probe.js';

const preset = presetFor('tgi');
const SHA = 'E985A63CDC139290C5F700FF1929F0B5942CCED2';
let fake: FakeTgi;

afterEach(async () => {
  await fake.close();
});

describe('tgi preset against a fake text-generation-inference', () => {
  it('gets no HTTP answer until the shards are ready, 200 after', async () => {
    const clock = new ManualClock();
    fake = await new FakeTgi({ loadDelayMs: 30_000, clock }).start();
    const probes = preset.probes(model(null));
    expect(await runProbe(probes.readiness, fake.url)).toMatchObject({ ok: false, status: null });
    clock.advance(30_000);
    expect(await runProbe(probes.readiness, fake.url)).toMatchObject({ ok: true, status: 200 });
  });

  it('fails on 503 unhealthy', async () => {
    fake = await new FakeTgi().start();
    fake.setUnhealthy();
    expect(await runProbe(preset.probes(model(null)).readiness, fake.url)).toMatchObject({ ok: false, status: 503 });
  });

  it('reads model_id as name and model_sha as checksum (compared case-insensitively)', async () => {
    fake = await new FakeTgi({ model: 'bigscience/bloom-560m', sha: SHA }).start();
    const facts = await readFacts(preset, model('bigscience/bloom-560m'), fake.url);
    expect(facts).toMatchObject({ name: 'bigscience/bloom-560m', version: null, checksum: SHA });
    expect(admit(model('bigscience/bloom-560m', null, SHA.toLowerCase()), facts!)).toEqual({ ok: true });
    expect(admit(model('bigscience/bloom-560m', null, 'deadbeef'), facts!)).toEqual({ ok: false, mismatches: [{ field: 'md5', expected: 'deadbeef', found: SHA }] });
  });

  it('generates and streams with "data:" lines, counting inference only', async () => {
    fake = await new FakeTgi().start();
    await readFacts(preset, model(null), fake.url);
    const plain = await post(`${fake.url}/generate`, { inputs: 'hi', parameters: { max_new_tokens: 2 } });
    expect(JSON.parse(plain.text)).toEqual({ generated_text: 'tok0 tok1 ' });
    const streamed = await post(`${fake.url}/generate_stream`, { inputs: 'hi', parameters: { max_new_tokens: 3 } });
    expect(streamed.text.startsWith('data:{')).toBe(true);
    const events = sseData(streamed.text).map((d) => JSON.parse(d) as { generated_text: string | null });
    expect(events).toHaveLength(3);
    expect(events[2]?.generated_text).toBe('tok0 tok1 tok2 ');
    expect(fake.inferenceRequests).toBe(2);
    expect(fake.probeRequests).toBe(1);
  });

  it('fails generation with 424, and inside a stream with an error event after 200', async () => {
    fake = await new FakeTgi({ failRate: 1 }).start();
    const plain = await post(`${fake.url}/generate`, { inputs: 'hi' });
    expect(plain.status).toBe(424);
    expect(JSON.parse(plain.text)).toMatchObject({ error_type: 'generation' });
    const streamed = await post(`${fake.url}/generate_stream`, { inputs: 'hi' });
    expect(streamed.status).toBe(200);
    expect(JSON.parse(sseData(streamed.text)[0]!)).toMatchObject({ error_type: 'generation' });
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { admit } from '../../../src/health/metadata.js';
import { presetFor } from '../../../src/health/presets/index.js';
import { FakeKServe } from '../../fakes/index.js';
import { ManualClock } from '../../helpers/manual-clock.js';
import { model, post, readFacts, runProbe } from './run-probe.js';

const preset = presetFor('kserve-v2');
let fake: FakeKServe;

afterEach(async () => {
  await fake.close();
});

describe('kserve-v2 preset against a fake KServe model server', () => {
  it('uses the per-model ready endpoint when a model is named: 503 while loading, 200 after', async () => {
    const clock = new ManualClock();
    fake = await new FakeKServe({ model: 'iris', loadDelayMs: 3_000, clock }).start();
    const probes = preset.probes(model('iris'));
    expect(probes.readiness.path).toBe('/v2/models/iris/ready');
    expect((await runProbe(probes.startup!, fake.url)).ok).toBe(true);
    expect(await runProbe(probes.readiness, fake.url)).toMatchObject({ ok: false, status: 503 });
    clock.advance(3_000);
    expect(await runProbe(probes.readiness, fake.url)).toMatchObject({ ok: true, status: 200 });
    expect((await runProbe(probes.liveness!, fake.url)).ok).toBe(true);
  });

  it('uses server ready without a model name', async () => {
    fake = await new FakeKServe({ loadDelayMs: 60_000, clock: new ManualClock() }).start();
    const probes = preset.probes(model(null));
    expect(probes.readiness.path).toBe('/v2/health/ready');
    expect((await runProbe(probes.readiness, fake.url)).ok).toBe(false);
    fake.finishLoading();
    expect((await runProbe(probes.readiness, fake.url)).ok).toBe(true);
    expect(preset.metadata(model(null))).toBeNull();
  });

  it('fails readiness for a model the server does not have', async () => {
    fake = await new FakeKServe({ model: 'iris' }).start();
    expect(await runProbe(preset.probes(model('mnist')).readiness, fake.url)).toMatchObject({ ok: false, status: 404 });
  });

  it('keeps the version out of the ready path: KServe answers 501 to versioned paths', async () => {
    fake = await new FakeKServe({ model: 'iris' }).start();
    expect(preset.probes(model('iris', '2')).readiness.path).toBe('/v2/models/iris/ready');
    const versioned = await runProbe({ path: '/v2/models/iris/versions/2/ready', method: 'GET', expectStatus: [200], expectBody: null }, fake.url);
    expect(versioned.status).toBe(501);
  });

  it('reads name, listed versions and parameters.md5 from metadata', async () => {
    fake = await new FakeKServe({ model: 'iris', version: '3', md5: 'ABC123' }).start();
    const matching = await readFacts(preset, model('iris', '3', 'abc123'), fake.url);
    expect(matching).toMatchObject({ name: 'iris', version: '3', checksum: 'ABC123' });
    expect(admit(model('iris', '3', 'abc123'), matching!)).toEqual({ ok: true });

    const wanted = model('iris', '4', 'ffff');
    const other = await readFacts(preset, wanted, fake.url);
    expect(admit(wanted, other!)).toEqual({
      ok: false,
      mismatches: [
        { field: 'version', expected: '4', found: '3' },
        { field: 'md5', expected: 'ffff', found: 'ABC123' },
      ],
    });
  });

  it('counts inference requests, not probes', async () => {
    fake = await new FakeKServe({ model: 'iris' }).start();
    await runProbe(preset.probes(model('iris')).readiness, fake.url);
    const ok = await post(`${fake.url}/v2/models/iris/infer`, { id: 'r1', inputs: [{ name: 'input-0', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.text)).toMatchObject({ model_name: 'iris', id: 'r1' });
    fake.setFailRate(1);
    expect((await post(`${fake.url}/v2/models/iris/infer`, { inputs: [] })).status).toBe(500);
    expect(fake.inferenceRequests).toBe(2);
    expect(fake.probeRequests).toBe(1);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { admit } from '../../../src/health/metadata.js';
import { presetFor } from '../../../src/health/presets/index.js';
import { FakeTriton } from '../../fakes/index.js';
import { ManualClock } from '../../helpers/manual-clock.js';
import { model, post, readFacts, runProbe } from './run-probe.js';

const preset = presetFor('triton');
let fake: FakeTriton;

afterEach(async () => {
  await fake.close();
});

describe('triton preset against a fake Triton', () => {
  it('is not ready (400) while the model loads, ready after', async () => {
    const clock = new ManualClock();
    fake = await new FakeTriton({ model: 'densenet', loadDelayMs: 10_000, clock }).start();
    const probes = preset.probes(model('densenet'));
    expect(probes.readiness.path).toBe('/v2/models/densenet/ready');
    expect((await runProbe(probes.startup!, fake.url)).ok).toBe(true);
    expect(await runProbe(probes.readiness, fake.url)).toMatchObject({ ok: false, status: 400 });
    clock.advance(10_000);
    expect(await runProbe(probes.readiness, fake.url)).toMatchObject({ ok: true, status: 200 });
  });

  it('prefers per-model ready: server ready turns false while another model loads (server#7014)', async () => {
    const clock = new ManualClock();
    fake = await new FakeTriton({ model: 'densenet', clock }).start();
    const serverLevel = preset.probes(model(null)).readiness;
    const perModel = preset.probes(model('densenet')).readiness;
    expect(serverLevel.path).toBe('/v2/health/ready');
    expect((await runProbe(serverLevel, fake.url)).ok).toBe(true);

    fake.loadOtherModel(30_000);
    // Our model is loaded and serving; only the server-wide answer says otherwise.
    expect(await runProbe(serverLevel, fake.url)).toMatchObject({ ok: false, status: 400 });
    expect((await runProbe(perModel, fake.url)).ok).toBe(true);
    expect((await runProbe(preset.probes(model(null)).liveness!, fake.url)).ok).toBe(true);

    clock.advance(30_000);
    expect((await runProbe(serverLevel, fake.url)).ok).toBe(true);
  });

  it('gates readiness on a configured version with the versioned ready endpoint', async () => {
    fake = await new FakeTriton({ model: 'densenet', versions: ['1', '2'] }).start();
    const v2 = preset.probes(model('densenet', '2')).readiness;
    expect(v2.path).toBe('/v2/models/densenet/versions/2/ready');
    expect((await runProbe(v2, fake.url)).ok).toBe(true);
    const v3 = await runProbe(preset.probes(model('densenet', '3')).readiness, fake.url);
    expect(v3).toMatchObject({ ok: false, status: 400 });
  });

  it('admits a version when it is among the listed versions, and reports the list otherwise', async () => {
    fake = await new FakeTriton({ model: 'densenet', versions: ['1', '2'] }).start();
    const facts = await readFacts(preset, model('densenet', '2'), fake.url);
    expect(facts).toMatchObject({ name: 'densenet', version: '2', checksum: null });
    expect(admit(model('densenet', '2'), facts!)).toEqual({ ok: true });

    const wanted = model('resnet', '3');
    const other = await readFacts(preset, model('densenet', '3'), fake.url);
    expect(other?.version).toBe('1, 2');
    expect(admit(wanted, other!)).toEqual({
      ok: false,
      mismatches: [
        { field: 'name', expected: 'resnet', found: 'densenet' },
        { field: 'version', expected: '3', found: '1, 2' },
      ],
    });
  });

  it('has no metadata while the model is unavailable', async () => {
    fake = await new FakeTriton({ model: 'densenet', loadDelayMs: 60_000, clock: new ManualClock() }).start();
    expect(await readFacts(preset, model('densenet'), fake.url)).toBeNull();
  });

  it('counts inference requests, not probes', async () => {
    fake = await new FakeTriton({ model: 'densenet' }).start();
    await runProbe(preset.probes(model('densenet')).readiness, fake.url);
    expect((await post(`${fake.url}/v2/models/densenet/infer`, { inputs: [] })).status).toBe(200);
    expect((await post(`${fake.url}/v2/models/densenet/versions/1/infer`, { inputs: [] })).status).toBe(200);
    expect(fake.inferenceRequests).toBe(2);
    expect(fake.probeRequests).toBe(1);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { admit } from '../../../src/health/metadata.js';
import { presetFor } from '../../../src/health/presets/index.js';
import { FakeTorchServe } from '../../fakes/index.js';
import { ManualClock } from '../../helpers/manual-clock.js';
import { model, post, readFacts, runProbe } from './run-probe.js';

const preset = presetFor('torchserve');
const spec = model('mlp');
let fake: FakeTorchServe;

afterEach(async () => {
  await fake.close();
});

describe('torchserve preset against a fake TorchServe', () => {
  it('is not ready while the workers load, and ready after', async () => {
    const clock = new ManualClock();
    fake = await new FakeTorchServe({ model: 'mlp', loadDelayMs: 5_000, clock }).start();
    const probes = preset.probes(spec);
    expect(probes.modelReady).not.toBeNull();

    expect((await runProbe(probes.startup!, fake.url)).ok).toBe(true);
    const loading = await runProbe(probes.readiness, fake.url);
    // Legacy TorchServe answers 200 while unhealthy: only the body tells.
    expect(loading).toMatchObject({ ok: false, status: 200 });
    expect(loading.reason).toContain('"Unhealthy"');
    const worker = await runProbe(probes.modelReady!, fake.url, fake.managementUrl);
    expect(worker.ok).toBe(false);
    expect(worker.reason).toContain('"UNLOADING"');

    clock.advance(5_000);
    expect(fake.loaded).toBe(true);
    expect(await runProbe(probes.readiness, fake.url)).toMatchObject({ ok: true, status: 200 });
    expect((await runProbe(probes.modelReady!, fake.url, fake.managementUrl)).ok).toBe(true);
  });

  it('counts 200 + {"status":"Unhealthy"} as failed, where a status-only check would pass', async () => {
    fake = await new FakeTorchServe({ model: 'mlp' }).start();
    fake.setUnhealthyBody();
    const readiness = await runProbe(preset.probes(spec).readiness, fake.url);
    expect(readiness).toMatchObject({ ok: false, status: 200 });
    expect(readiness.reason).toBe('body /status is "Unhealthy", expected "Healthy"');
    const statusOnly = await runProbe({ path: '/ping', method: 'GET', expectStatus: null, expectBody: null }, fake.url);
    expect(statusOnly.ok).toBe(true);
  });

  it('fails readiness on the 500 of current releases, while liveness still passes', async () => {
    fake = await new FakeTorchServe({ model: 'mlp', pingStyle: 'current', loadDelayMs: 60_000, clock: new ManualClock() }).start();
    const probes = preset.probes(spec);
    expect(await runProbe(probes.readiness, fake.url)).toMatchObject({ ok: false, status: 500, reason: 'status 500' });
    expect((await runProbe(probes.liveness!, fake.url)).ok).toBe(true);
  });

  it('catches "Healthy" before the model is registered (pytorch/serve#2434) with the management check', async () => {
    fake = await new FakeTorchServe({ model: 'mlp', registerLate: true, loadDelayMs: 60_000, clock: new ManualClock() }).start();
    const probes = preset.probes(spec);
    expect((await runProbe(probes.readiness, fake.url)).ok).toBe(true);
    expect(await runProbe(probes.modelReady!, fake.url, fake.managementUrl)).toMatchObject({ ok: false, status: 404 });
    fake.finishLoading();
    expect((await runProbe(probes.modelReady!, fake.url, fake.managementUrl)).ok).toBe(true);
  });

  it('has no model-ready check without a model name', () => {
    expect(preset.probes(model(null)).modelReady).toBeNull();
    expect(preset.metadata(model(null))).toBeNull();
  });

  it('reads name, version and (customized) md5 from the management API and reports mismatches', async () => {
    fake = await new FakeTorchServe({ model: 'mlp', version: '2.0', md5: '55E55E80CF35A77F076AA8DCC2E26E0C' }).start();
    const facts = await readFacts(preset, spec, fake.url, fake.managementUrl);
    expect(facts).toMatchObject({ name: 'mlp', version: '2.0', checksum: null });
    expect(Array.isArray(facts?.raw)).toBe(true);

    const expected = model('mlp', '2', '55e55e80cf35a77f076aa8dcc2e26e0c');
    const verdict = admit(expected, facts!);
    expect(verdict).toEqual({
      ok: false,
      mismatches: [
        { field: 'version', expected: '2', found: '2.0' },
        { field: 'md5', expected: '55e55e80cf35a77f076aa8dcc2e26e0c', found: null },
      ],
    });

    const customized = await readFacts(preset, spec, fake.url, fake.managementUrl, '?customized=true');
    expect(customized?.checksum).toBe('55E55E80CF35A77F076AA8DCC2E26E0C');
    expect(admit(model('mlp', '2.0', '55e55e80cf35a77f076aa8dcc2e26e0c'), customized!)).toEqual({ ok: true });
  });

  it('counts inference requests only, and fails them as TorchServe does', async () => {
    fake = await new FakeTorchServe({ model: 'mlp' }).start();
    await runProbe(preset.probes(spec).readiness, fake.url);
    await readFacts(preset, spec, fake.url, fake.managementUrl);
    expect((await post(`${fake.url}/predictions/mlp`, { x: 1 })).status).toBe(200);
    fake.setFailRate(1);
    const failed = await post(`${fake.url}/predictions/mlp`, { x: 1 });
    expect(failed.status).toBe(503);
    expect(JSON.parse(failed.text)).toMatchObject({ type: 'InternalServerException', message: 'Prediction failed' });
    expect(fake.inferenceRequests).toBe(2);
    expect(fake.probeRequests).toBe(2);
  });

  it('answers 503 "no worker" to inference while loading', async () => {
    fake = await new FakeTorchServe({ model: 'mlp', loadDelayMs: 60_000, clock: new ManualClock() }).start();
    const res = await post(`${fake.url}/predictions/mlp`, {});
    expect(res.status).toBe(503);
    expect(res.text).toContain('has no worker to serve inference request');
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { presetFor, type PresetName } from '../../../src/health/presets/index.js';
import { FakeKServe, FakeTgi, FakeTorchServe, FakeTriton, FakeVllm, type FakeModelServer } from '../../fakes/index.js';
import { ManualClock } from '../../helpers/manual-clock.js';
import { model, runProbe } from './run-probe.js';

let fake: FakeModelServer;

afterEach(async () => {
  await fake.close();
});

const cases: Array<[PresetName, (clock: ManualClock) => FakeModelServer, string | null]> = [
  ['torchserve', (clock) => new FakeTorchServe({ model: 'm', clock }), 'm'],
  ['kserve-v2', (clock) => new FakeKServe({ model: 'm', clock }), 'm'],
  ['triton', (clock) => new FakeTriton({ model: 'm', clock }), 'm'],
  ['vllm', (clock) => new FakeVllm({ model: 'm', clock }), 'm'],
  ['tgi', (clock) => new FakeTgi({ model: 'm', clock }), null],
];

describe.each(cases)('%s fake: reload(ms)', (name, make, modelName) => {
  it('is not ready for the reload, then ready again; whenLoaded() resolves', async () => {
    const clock = new ManualClock();
    fake = await make(clock).start();
    const probes = presetFor(name).probes(model(modelName));
    const management = fake instanceof FakeTorchServe ? fake.managementUrl : null;
    const ready = async (): Promise<boolean> => {
      const r = await runProbe(probes.readiness, fake.url);
      if (!r.ok || probes.modelReady === null) return r.ok;
      return (await runProbe(probes.modelReady, fake.url, management)).ok;
    };
    expect(await ready()).toBe(true);

    fake.reload(2_000);
    const loaded = fake.whenLoaded();
    expect(await ready()).toBe(false);
    clock.advance(1_999);
    expect(await ready()).toBe(false);
    clock.advance(1);
    await loaded;
    expect(await ready()).toBe(true);
  });
});

// TorchServe admission with an md5: the checksum is read from the model's customized metadata on the management API.
import { afterEach, expect, test } from 'vitest';
import { FakeTorchServe } from '../fakes/index.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { idOf, view, waitState } from './support.js';

const MD5 = '55e55e80cf35a77f076aa8dcc2e26e0c';
let fake: FakeTorchServe;
let stack: Stack;
afterEach(async () => {
  await stack.close();
  await fake.close();
});

test('name, version and md5 all match: admitted and READY', async () => {
  fake = await new FakeTorchServe({ version: '2', md5: MD5 }).start();
  stack = await startStack(`
pools:
  p:
    health: { preset: torchserve, jitter: 0, startup: { interval: 3s }, readiness: { interval: 7s }, managementPort: ${fake.managementPort}, model: { name: mlp, version: "2", md5: ${MD5} } }
    backends: [${fake.url}]
`, { waitReady: false, deps: { clock: new ManualClock() } }); // admitted on the first check: no time passes
  const id = idOf(fake.port);
  await waitState(stack, id, 'READY');
  expect((await view(stack, id)).admission).toMatchObject({ ok: true, found: { name: 'mlp', version: '2', checksum: MD5 } });
});

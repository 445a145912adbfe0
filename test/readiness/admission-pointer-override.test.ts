// A pointer set on a preset overrides only that field: the preset still reads the others from its own metadata format.
import { afterEach, expect, test } from 'vitest';
import { FakeKServe } from '../fakes/index.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { idOf, view, waitState } from './support.js';

const MD5 = '55e55e80cf35a77f076aa8dcc2e26e0c';
let fake: FakeKServe;
let stack: Stack;
afterEach(async () => {
  await stack.close();
  await fake.close();
});

test('kserve-v2 with only checksumPointer: the version still comes from the `versions` list', async () => {
  fake = await new FakeKServe({ version: '3', md5: MD5 }).start();
  stack = await startStack(`
pools:
  p:
    health: { preset: kserve-v2, jitter: 0, startup: { interval: 3s }, readiness: { interval: 7s }, model: { name: sklearn-iris, version: "3", md5: ${MD5}, checksumPointer: /parameters/md5 } }
    backends: [${fake.url}]
`, { waitReady: false, deps: { clock: new ManualClock() } }); // admitted on the first check: no time passes
  const id = idOf(fake.port);
  await waitState(stack, id, 'READY');
  expect((await view(stack, id)).admission).toMatchObject({ ok: true, found: { name: 'sklearn-iris', version: '3', checksum: MD5 } });
});

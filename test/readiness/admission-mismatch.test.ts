// Model admission: a backend reporting the wrong version is MISMATCH (admin, log, metric), gets no user request,
// and is re-checked every interval, so redeploying the right version admits it without a reload.
import { afterEach, expect, test } from 'vitest';
import { FakeKServe } from '../fakes/index.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { idOf, metric, request, until, view, waitState } from './support.js';

const MD5 = '55e55e80cf35a77f076aa8dcc2e26e0c';
let good: FakeKServe;
let bad: FakeKServe;
let stack: Stack;
afterEach(async () => {
  await stack.close();
  await Promise.all([good.close(), bad.close()]);
});

test('wrong version: MISMATCH with expected and found, logged, counted, no traffic; right version later: READY', async () => {
  good = await new FakeKServe({ version: '2', md5: MD5 }).start();
  bad = await new FakeKServe({ version: '1', md5: MD5 }).start();
  stack = await startStack(`
pools:
  p:
    balance: round-robin
    health: { preset: kserve-v2, jitter: 0, startup: { interval: 20ms }, readiness: { interval: 20ms }, model: { name: sklearn-iris, version: 2, md5: ${MD5.toUpperCase()} } }
    backends: [${good.url}, ${bad.url}]
`, { waitReady: false });
  const badId = idOf(bad.port);
  const goodId = idOf(good.port);
  await waitState(stack, goodId, 'READY');
  await waitState(stack, badId, 'MISMATCH');

  const v = await view(stack, badId);
  expect(v.admission).toMatchObject({
    ok: false,
    expected: { name: 'sklearn-iris', version: '2', md5: MD5 },
    found: { name: 'sklearn-iris', version: '1', checksum: MD5 },
    reason: 'model mismatch: version: expected "2", found "1"',
  });
  expect(v.stateReason).toBe('model mismatch: version: expected "2", found "1"');
  const logged = stack.logs.find((l) => l.msg === 'backend refused: model mismatch (re-checked every readiness interval)');
  expect(logged).toMatchObject({ level: 40, backend: badId, expected: { version: '2' }, found: { version: '1' } });
  expect(await metric(stack, 'infergate_model_admissions_total', { backend: badId, result: 'mismatch' })).toBeGreaterThanOrEqual(1);
  expect(await metric(stack, 'infergate_model_admissions_total', { backend: goodId, result: 'admitted' })).toBe(1);

  for (let i = 0; i < 6; i++) expect((await request(`${stack.url}/v2/models/sklearn-iris/infer`, { method: 'POST', body: '{}' })).status).toBe(200);
  expect(bad.inferenceRequests).toBe(0);
  expect(good.inferenceRequests).toBe(6);

  // Re-checked every readiness interval while MISMATCH (the log line is written once, not per check).
  const checks = await metric(stack, 'infergate_model_admissions_total', { backend: badId, result: 'mismatch' });
  await until(stack, async () => (await metric(stack, 'infergate_model_admissions_total', { backend: badId, result: 'mismatch' })) >= checks + 2, 'two more admission checks');
  expect(stack.logs.filter((l) => l.msg === logged?.msg)).toHaveLength(1);

  bad.version = '2'; // redeployed in place: no reload of infergate
  await waitState(stack, badId, 'READY');
  expect((await view(stack, badId)).admission).toMatchObject({ ok: true, reason: null, found: { version: '2' } });
  expect(await metric(stack, 'infergate_model_admissions_total', { backend: badId, result: 'admitted' })).toBe(1);
  for (let i = 0; i < 4; i++) expect((await request(`${stack.url}/v2/models/sklearn-iris/infer`, { method: 'POST', body: '{}' })).status).toBe(200);
  expect(bad.inferenceRequests).toBe(2);
});

// Model admission: a backend reporting the wrong version is MISMATCH (admin, log, metric), gets no user request,
// and is re-checked every interval, so redeploying the right version admits it without a reload.
import { afterEach, expect, test } from 'vitest';
import { FakeKServe } from '../fakes/index.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { idOf, metric, probeRound, request, until, view, waitState } from './support.js';

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
  const clock = new ManualClock();
  stack = await startStack(`
pools:
  p:
    balance: round-robin
    health: { preset: kserve-v2, jitter: 0, startup: { interval: 3s }, readiness: { interval: 7s }, model: { name: sklearn-iris, version: 2, md5: ${MD5.toUpperCase()} } }
    backends: [${good.url}, ${bad.url}]
`, { waitReady: false, deps: { clock } });
  const badId = idOf(bad.port);
  const goodId = idOf(good.port);
  await waitState(stack, goodId, 'READY');
  await waitState(stack, badId, 'MISMATCH');
  await clock.waitFor(7_000, 2); // both readiness loops armed for the next round

  const v = await view(stack, badId);
  expect(v.admission).toMatchObject({
    ok: false,
    expected: { name: 'sklearn-iris', version: '2', md5: MD5 },
    found: { name: 'sklearn-iris', version: '1', checksum: MD5 },
    reason: 'model mismatch: version: expected "2", found "1"',
  });
  expect(v.stateReason).toBe('model mismatch: version: expected "2", found "1"');
  const logged = stack.logs.find((l) => l.msg === 'backend refused: model mismatch (re-checked every readiness interval)');
  expect(logged).toMatchObject({ level: 'warn', backend: badId, expected: { version: '2' }, found: { version: '1' } });
  expect(await metric(stack, 'infergate_model_admissions_total', { backend: badId, result: 'mismatch' })).toBeGreaterThan(0); // how often: see the test below
  expect(await metric(stack, 'infergate_model_admissions_total', { backend: goodId, result: 'admitted' })).toBe(1);

  for (let i = 0; i < 6; i++) expect((await request(`${stack.url}/v2/models/sklearn-iris/infer`, { method: 'POST', body: '{}' })).status).toBe(200);
  expect(bad.inferenceRequests).toBe(0);
  expect(good.inferenceRequests).toBe(6);

  // Re-checked while MISMATCH; the log line is written once, not per check.
  const mismatches = (): Promise<number> => metric(stack, 'infergate_model_admissions_total', { backend: badId, result: 'mismatch' });
  const checks = await mismatches();
  // One re-check per readiness round (its metadata read is answered after the probe verdict).
  await probeRound(clock, 7_000, 2);
  await until(stack, async () => (await mismatches()) === checks + 1, 'the first re-check');
  await probeRound(clock, 7_000, 2);
  await until(stack, async () => (await mismatches()) === checks + 2, 'the second re-check');
  expect(stack.logs.filter((l) => l.msg === logged?.msg)).toHaveLength(1);

  bad.version = '2'; // redeployed in place: no reload of infergate
  await probeRound(clock, 7_000, 2);
  await waitState(stack, badId, 'READY');
  expect((await view(stack, badId)).admission).toMatchObject({ ok: true, reason: null, found: { version: '2' } });
  expect(await metric(stack, 'infergate_model_admissions_total', { backend: badId, result: 'admitted' })).toBe(1);
  for (let i = 0; i < 4; i++) expect((await request(`${stack.url}/v2/models/sklearn-iris/infer`, { method: 'POST', body: '{}' })).status).toBe(200);
  expect(bad.inferenceRequests).toBe(2);
});

// Regression: #admit used to end with #advance(), which in phase 'mismatch' started the next admission at once, so a
// MISMATCH backend's metadata was re-read back to back (hundreds of times a second) instead of once per interval.
test('while MISMATCH the model is re-checked once per readiness interval, not back to back', async () => {
  good = await new FakeKServe({ version: '2' }).start();
  bad = await new FakeKServe({ version: '1' }).start();
  const clock = new ManualClock();
  stack = await startStack(`
pools:
  p:
    health: { preset: kserve-v2, jitter: 0, startup: { interval: 3s }, readiness: { interval: 7s }, model: { name: sklearn-iris, version: 2 } }
    backends: [${bad.url}]
`, { waitReady: false, deps: { clock } });
  const badId = idOf(bad.port);
  await waitState(stack, badId, 'MISMATCH');
  const mismatches = (): Promise<number> => metric(stack, 'infergate_model_admissions_total', { backend: badId, result: 'mismatch' });
  // No time passes on the proxy's clock: a few admin round trips later it is still the one check.
  for (let i = 0; i < 5; i++) await fetch(`${stack.adminUrl}/healthz`);
  expect(await mismatches()).toBe(1);
  await probeRound(clock, 7_000);
  await until(stack, async () => (await mismatches()) === 2, 'the re-check of the readiness round');
  for (let i = 0; i < 5; i++) await fetch(`${stack.adminUrl}/healthz`);
  expect(await mismatches()).toBe(2);
});

// expectStatus and expectBody decide whether a probe answer passes.
import { afterEach, expect, test } from 'vitest';
import { startHealthBackend, type HealthBackend } from './health-backend.js';
import { proberRig, type ProberRig } from './prober-harness.js';

let target: HealthBackend;
let rig: ProberRig;
afterEach(async () => {
  await rig.close();
  await target.close();
});

test('default: any 2xx passes, anything else fails', async () => {
  target = await startHealthBackend({ status: 204, body: '' });
  rig = proberRig(target, '{ jitter: 0, readiness: { interval: 5s, timeout: 1s, healthyThreshold: 1, unhealthyThreshold: 1 } }');
  rig.prober.start();
  await rig.processed(1);
  expect(rig.backend.lastProbe).toMatchObject({ ok: true, status: 204 });
  for (const [status, ok] of [[299, true], [301, false], [404, false], [200, true], [503, false]] as const) {
    target.setHealth(status, '');
    await rig.tick();
    expect(rig.backend.lastProbe, `status ${status}`).toMatchObject({ ok, status });
  }
});

test('expectStatus: only the listed codes pass', async () => {
  target = await startHealthBackend({ status: 200 });
  rig = proberRig(target, '{ jitter: 0, readiness: { interval: 5s, timeout: 1s, healthyThreshold: 1, unhealthyThreshold: 1, expectStatus: [204, 418] } }');
  rig.prober.start();
  await rig.processed(1);
  expect(rig.backend.lastProbe).toMatchObject({ ok: false, status: 200, error: 'status 200' });
  expect(rig.backend.state()).toBe('LOADING');
  target.setHealth(418, 'teapot');
  await rig.tick();
  expect(rig.backend.lastProbe).toMatchObject({ ok: true, status: 418 });
  expect(rig.backend.state()).toBe('READY');
  target.setHealth(204, '');
  await rig.tick();
  expect(rig.backend.lastProbe).toMatchObject({ ok: true, status: 204 });
});

test('expectBody: a 200 whose body lacks the substring fails (TorchServe answers 200 "Unhealthy")', async () => {
  target = await startHealthBackend({ status: 200, body: '{"status": "Unhealthy"}' });
  rig = proberRig(target, '{ jitter: 0, readiness: { interval: 5s, timeout: 1s, healthyThreshold: 1, unhealthyThreshold: 1, expectBody: "\\"Healthy\\"" } }');
  rig.prober.start();
  await rig.processed(1);
  expect(rig.backend.lastProbe).toMatchObject({ ok: false, status: 200, error: 'body does not contain "\\"Healthy\\""' });
  expect(rig.backend.state()).toBe('LOADING');
  target.setHealth(200, '{"status": "Healthy"}');
  await rig.tick();
  expect(rig.backend.state()).toBe('READY');
  // Status still matters when the body matches.
  target.setHealth(500, '{"status": "Healthy"}');
  await rig.tick();
  expect(rig.backend.state()).toBe('UNREADY');
});

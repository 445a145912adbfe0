// READY -> UNREADY after exactly unhealthyThreshold failed probes, and back after exactly healthyThreshold passes.
import { afterEach, expect, test } from 'vitest';
import { startHealthBackend, type HealthBackend } from './health-backend.js';
import { proberRig, type ProberRig } from './prober-harness.js';

let target: HealthBackend;
let rig: ProberRig;
afterEach(async () => {
  await rig.close();
  await target.close();
});

test.each([
  [1, 1],
  [2, 3],
  [3, 2],
])('healthyThreshold %i, unhealthyThreshold %i', async (healthy, unhealthy) => {
  target = await startHealthBackend();
  rig = proberRig(target, `{ jitter: 0, readiness: { interval: 5s, timeout: 1s, healthyThreshold: ${healthy}, unhealthyThreshold: ${unhealthy} } }`);
  rig.prober.start();
  await rig.processed(1);
  expect(rig.backend.state()).toBe('READY');

  target.setHealth(500);
  for (let i = 1; i < unhealthy; i++) {
    await rig.tick();
    expect(rig.backend.state(), `after ${i} failure(s)`).toBe('READY');
  }
  await rig.tick();
  expect(rig.backend.state()).toBe('UNREADY');
  expect(rig.backend.routable()).toBe(false);
  // More failures change nothing and report nothing.
  await rig.tick();
  expect(rig.changes).toHaveLength(2);

  target.setHealth(200);
  for (let i = 1; i < healthy; i++) {
    await rig.tick();
    expect(rig.backend.state(), `after ${i} pass(es)`).toBe('UNREADY');
  }
  await rig.tick();
  expect(rig.backend.state()).toBe('READY');
  expect(rig.changes.map((c) => [c.from, c.to])).toEqual([
    ['LOADING', 'READY'],
    ['READY', 'UNREADY'],
    ['UNREADY', 'READY'],
  ]);
  expect(rig.changes[1]!.reason).toBe('readiness /health failed: status 500');
  expect(rig.changes[2]!.reason).toBe('readiness /health passed');
  const checks = await rig.metrics.healthChecks.get();
  const byResult = Object.fromEntries(checks.values.map((v) => [v.labels.result, v.value]));
  expect(byResult).toEqual({ pass: 1 + healthy, fail: unhealthy + 1 });
});

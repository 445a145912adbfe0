// A backend whose readiness endpoint is slower than the interval never has two probes in flight.
import { afterEach, expect, test } from 'vitest';
import { startHealthBackend, type HealthBackend } from './health-backend.js';
import { proberRig, type ProberRig } from './prober-harness.js';

let target: HealthBackend;
let rig: ProberRig;
afterEach(async () => {
  await rig.close();
  await target.close();
});

test('the next probe is scheduled only after the previous one finished', async () => {
  target = await startHealthBackend();
  rig = proberRig(target, '{ jitter: 0, readiness: { interval: 100ms, timeout: 20s } }');
  target.hang();
  rig.prober.start();
  await target.waitProbes(1);
  // Ten intervals pass while the probe hangs: no other probe may be started or even scheduled.
  for (let i = 0; i < 10; i++) rig.clock.advance(100);
  expect(rig.clock.count(100)).toBe(0);
  expect(target.probes).toBe(1);
  target.setHealth(200);
  await rig.processed(1);
  expect(rig.backend.state()).toBe('READY');
  // Each later hanging probe likewise blocks the schedule until it ends.
  for (let n = 2; n <= 4; n++) {
    target.hang();
    rig.clock.advance(100);
    await target.waitProbes(n);
    rig.clock.advance(1_000);
    expect(rig.clock.count(100)).toBe(n - 1);
    target.setHealth(200);
    await rig.processed(n);
  }
  expect(target.maxInflightProbes).toBe(1);
  expect(target.probes).toBe(4);
});

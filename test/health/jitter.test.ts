// Probe intervals are spread by +-jitter (seeded random here), so a fleet's probes do not fire in lockstep.
import { afterEach, expect, test } from 'vitest';
import { seededRandom } from '../helpers/manual-clock.js';
import { startHealthBackend, type HealthBackend } from './health-backend.js';
import { proberRig, type ProberRig } from './prober-harness.js';

let target: HealthBackend;
let rig: ProberRig;
afterEach(async () => {
  await rig.close();
  await target.close();
});

const probeDelays = (r: ProberRig): number[] => r.clock.delays.filter((d) => d !== 1000 && d !== 600_000);

test('with jitter 0.2 every delay lies within interval +-20% and they differ', async () => {
  target = await startHealthBackend();
  rig = proberRig(target, '{ jitter: 0.2, readiness: { interval: 10s, timeout: 1s } }', seededRandom(42));
  rig.prober.start();
  await rig.processed(1);
  for (let i = 0; i < 11; i++) await rig.tick();
  const delays = probeDelays(rig);
  expect(delays).toHaveLength(12);
  for (const d of delays) {
    expect(d).toBeGreaterThanOrEqual(8_000);
    expect(d).toBeLessThanOrEqual(12_000);
  }
  expect(new Set(delays).size).toBeGreaterThan(6);
  expect(delays.some((d) => d < 9_500)).toBe(true);
  expect(delays.some((d) => d > 10_500)).toBe(true);
});

test('with jitter 0 every delay is exactly the interval', async () => {
  target = await startHealthBackend();
  rig = proberRig(target, '{ jitter: 0, readiness: { interval: 10s, timeout: 1s } }', seededRandom(42));
  rig.prober.start();
  await rig.processed(1);
  for (let i = 0; i < 4; i++) await rig.tick();
  expect(probeDelays(rig)).toEqual([10_000, 10_000, 10_000, 10_000, 10_000]);
});

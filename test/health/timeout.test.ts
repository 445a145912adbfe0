// A probe that gets no answer within its timeout counts as a failure (and the prober carries on).
import { afterEach, expect, test } from 'vitest';
import { startHealthBackend, type HealthBackend } from './health-backend.js';
import { proberRig, type ProberRig } from './prober-harness.js';

let target: HealthBackend;
let rig: ProberRig;
afterEach(async () => {
  await rig.close();
  await target.close();
});

test('timeouts count as failures and take a READY backend out after unhealthyThreshold of them', async () => {
  target = await startHealthBackend();
  // The probe timeout runs on the injected clock; the real-time one is far away.
  rig = proberRig(target, '{ jitter: 0, readiness: { interval: 5s, timeout: 20s, unhealthyThreshold: 2 } }');
  rig.prober.start();
  await rig.processed(1);
  expect(rig.backend.state()).toBe('READY');

  target.hang();
  for (let i = 1; i <= 2; i++) {
    rig.clock.advance(5_000);
    await target.waitProbes(1 + i);
    // Just short of the timeout nothing is decided yet.
    rig.clock.advance(19_999);
    expect(rig.clock.count(5_000)).toBe(i);
    rig.clock.advance(1);
    await rig.processed(1 + i);
    expect(rig.backend.lastProbe).toMatchObject({ ok: false, status: null, ms: 20_000, error: 'timed out after 20000ms' });
  }
  expect(rig.backend.state()).toBe('UNREADY');
  expect(rig.changes.at(-1)).toMatchObject({ from: 'READY', to: 'UNREADY', reason: 'readiness /health failed: timed out after 20000ms' });
});

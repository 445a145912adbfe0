// The first readiness probe runs at once on start, and a backend stays LOADING until a probe passes.
import { afterEach, expect, test } from 'vitest';
import { startHealthBackend, type HealthBackend } from './health-backend.js';
import { proberRig, type ProberRig } from './prober-harness.js';

let target: HealthBackend;
let rig: ProberRig;
afterEach(async () => {
  await rig.close();
  await target.close();
});

test('the first probe is sent at once, without any time passing', async () => {
  target = await startHealthBackend();
  rig = proberRig(target, '{ jitter: 0, readiness: { interval: 10s, timeout: 1s } }');
  expect(rig.backend.state()).toBe('LOADING');
  rig.prober.start();
  await target.waitProbes(1);
  expect(rig.clock.now()).toBe(0);
  await rig.processed(1);
  expect(rig.backend.state()).toBe('READY');
  expect(rig.backend.lastProbe).toMatchObject({ ok: true, status: 200, error: null });
  // The next probe is one interval later (the other timers: probe timeout 1 s, startup deadline 10 min).
  expect(rig.clock.delays.filter((d) => d !== 1000 && d !== 600_000)).toEqual([10_000]);
});

test('a LOADING backend stays LOADING through failures and becomes READY on its first pass', async () => {
  target = await startHealthBackend({ status: 503 });
  rig = proberRig(target, '{ jitter: 0, readiness: { interval: 10s, timeout: 1s, healthyThreshold: 3, unhealthyThreshold: 2 } }');
  rig.prober.start();
  await rig.processed(1);
  for (let i = 0; i < 4; i++) {
    expect(rig.backend.state()).toBe('LOADING');
    expect(rig.backend.routable()).toBe(false);
    await rig.tick();
  }
  expect(rig.backend.state()).toBe('LOADING');
  expect(rig.backend.lastProbe).toMatchObject({ ok: false, status: 503, error: 'status 503' });
  expect(rig.changes).toHaveLength(0);
  target.setHealth(200);
  await rig.tick();
  expect(rig.backend.state()).toBe('READY');
  expect(rig.changes.map((c) => [c.from, c.to])).toEqual([['LOADING', 'READY']]);
  expect(target.probes).toBe(6);
});

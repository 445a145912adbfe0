// RolloutManager with a real Cluster: attempts reach the controller through the pool's recorder, backend state changes
// through the cluster's event stream, so outlier detection ejecting a failing canary backend fails the checks that follow.
import pino from 'pino';
import { expect, it } from 'vitest';
import { Backend } from '../../src/backends/backend.js';
import type { Cluster } from '../../src/cluster/cluster.js';
import type { RolloutSpec } from '../../src/config/types.js';
import { RolloutManager, type RolloutStats } from '../../src/rollout/manager.js';
import { cluster, ready, request } from '../cluster/support.js';
import { ok, yaml } from '../config/helpers.js';
import { ManualClock, seededRandom } from '../helpers/manual-clock.js';

const POOL = yaml(
  'pools:',
  '  p:',
  '    balance: round-robin',
  '    outlier: {}', // the defaults: consecutive5xx 5, base ejection 30 s
  '    groups:',
  '      stable: { weight: 50, backends: [http://127.0.0.1:9101] }',
  '      canary:',
  '        weight: 50',
  '        backends: [http://127.0.0.1:9201, http://127.0.0.1:9202]',
  '        rollout: { steps: [50, 100], interval: 3s }',
);

const stats: RolloutStats = { weight() {}, state() {}, transition() {}, check() {} };

function setup(): { c: Cluster; clock: ManualClock; manager: RolloutManager; byPort: (port: number) => Backend } {
  const clock = new ManualClock();
  const manager = new RolloutManager({ clock, random: seededRandom(3), log: pino({ level: 'silent' }), stats }, null);
  const { c, events, byPort } = cluster(POOL, { clock, rollout: manager.recorder('p') });
  events.subscribe(manager.onClusterEvent);
  const spec = ok(POOL).pools.get('p')!.groups.find((g) => g.name === 'canary')!.rollout!;
  manager.build([c], new Map([['p', new Map<string, RolloutSpec>([['canary', spec]])]]));
  return { c, clock, manager, byPort };
}

/** `seconds` of traffic at 50 req/s, one request at a time; `status` answers each attempt. */
function traffic(c: Cluster, clock: ManualClock, seconds: number, status: (b: Backend) => number): void {
  for (let i = 0; i < seconds * 50; i++) {
    const b = c.pick(request({ mayQueue: false }));
    if (b instanceof Backend) {
      const attempt = { backend: b, status: status(b), latencyMs: 20, failure: null };
      c.report('response', attempt);
      c.report('end', attempt);
    }
    clock.advance(20);
  }
}

it('the textbook bad canary through a real cluster: the failing backend is ejected after 5 errors, the next two checks fail, both canary backends are rolled back', () => {
  const { c, clock, manager, byPort } = setup();
  expect(manager.views()[0]).toMatchObject({ state: 'pending', canaryReady: false });
  for (const port of [9101, 9201, 9202]) ready(byPort(port));
  expect(manager.views()[0]).toMatchObject({ state: 'progressing', weight: 50, canaryReady: true });

  const failing = byPort(9202);
  traffic(c, clock, 3, (b) => (b === failing ? 500 : 200));
  expect(failing.state()).toBe('EJECTED');
  let v = manager.views()[0]!;
  expect(v).toMatchObject({ state: 'progressing', weight: 50, failedChecks: 1 });
  const check = v.lastCheck!;
  expect(check.canary.errors).toBe(5);
  expect(check.canary.requests).toBeGreaterThan(50);
  expect(check.verdict).toBe('fail');
  expect(check.failures).toContain('backend-out');
  expect(check.backendsOut).toEqual([{ id: 'p.canary.127.0.0.1:9202', state: 'EJECTED', reason: expect.stringMatching(/5 consecutive server errors/), since: expect.any(String) }]);
  // Still ejected at the start of the next window: shown, and the next check fails too.
  expect(v.backendsOut.map((b) => b.id)).toEqual(['p.canary.127.0.0.1:9202']);

  traffic(c, clock, 3, (b) => (b === failing ? 500 : 200));
  v = manager.views()[0]!;
  expect(v).toMatchObject({ state: 'rolled-back', weight: 0, stableWeight: 100 });
  expect(v.reason).toMatch(/^2 failed checks \(threshold 2\): canary backend out of service: p\.canary\.127\.0\.0\.1:9202 EJECTED/);
  expect(c.group('canary')!.weight).toBe(0);
  // The healthy canary backend is still READY; the group as a whole is out of traffic.
  expect(byPort(9201).state()).toBe('READY');
});

it('a healthy canary of two backends, one still LOADING when the rollout starts, is promoted', () => {
  const { c, clock, manager, byPort } = setup();
  for (const port of [9101, 9201]) ready(byPort(port));
  expect(manager.views()[0]).toMatchObject({ state: 'progressing', weight: 50 });
  traffic(c, clock, 1, () => 200);
  ready(byPort(9202));
  traffic(c, clock, 8, () => 200);
  expect(manager.views()[0]).toMatchObject({ state: 'promoted', weight: 100 });
  expect(manager.views()[0]!.history.map((h) => h.to)).toEqual(['progressing', 'promoted']);
});

// Group weights through real sockets: a 90/10 split holds over 2000 requests, weight 0 gets nothing, a group without a READY backend falls back (counted).
import { afterEach, expect, test } from 'vitest';
import { metric } from '../e2e/support.js';
import { seededRandom } from '../helpers/manual-clock.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { closeAll, namedBackend, tally, traffic, twoGroups, type NamedBackend } from './support.js';

let stack: Stack | undefined;
let servers: NamedBackend[] = [];
afterEach(async () => {
  await closeAll(stack, servers);
  stack = undefined;
  servers = [];
});

test('90/10 over 2000 requests lands within 2.5 points of 10% on the canary', async () => {
  servers = await Promise.all(['s1', 's2', 'c1'].map((n) => namedBackend(n)));
  const [s1, s2, c1] = servers as [NamedBackend, NamedBackend, NamedBackend];
  stack = await startStack(twoGroups({ stable: [s1, s2], canary: [c1], stableWeight: 90, canaryWeight: 10 }), { deps: { random: seededRandom(7) } });
  const answers = await traffic(stack, 2000, { concurrency: 16 });
  expect(answers.every((a) => a.status === 200)).toBe(true);
  const t = tally(answers);
  const canaryShare = (t.get('c1') ?? 0) / 2000;
  expect(canaryShare).toBeGreaterThan(0.075);
  expect(canaryShare).toBeLessThan(0.125);
  expect((t.get('s1') ?? 0) + (t.get('s2') ?? 0) + (t.get('c1') ?? 0)).toBe(2000);
  // Per-group request counters exist and add up to what the backends saw.
  expect(await metric(stack, 'infergate_requests_total', { pool: 'p', group: 'canary', code: '2xx' })).toBe(t.get('c1'));
  expect(await metric(stack, 'infergate_group_fallbacks_total', { pool: 'p', group: 'canary' })).toBe(0);
});

test('a weight-0 group gets nothing', async () => {
  servers = await Promise.all(['s1', 'c1'].map((n) => namedBackend(n)));
  const [s1, c1] = servers as [NamedBackend, NamedBackend];
  stack = await startStack(twoGroups({ stable: [s1], canary: [c1], stableWeight: 100, canaryWeight: 0 }), { deps: { random: seededRandom(3) } });
  await waitCanaryReady(stack);
  const answers = await traffic(stack, 500, { concurrency: 16 });
  expect(tally(answers).get('s1')).toBe(500);
  expect(c1.count()).toBe(0);
});

test('a chosen group with no READY backend: the request goes to the other group, the client sees 200, the fallback is counted', async () => {
  servers = await Promise.all(['s1', 'c1'].map((n) => namedBackend(n)));
  const [s1, c1] = servers as [NamedBackend, NamedBackend];
  c1.setHealth(503); // the canary's model never loads: it stays LOADING
  stack = await startStack(twoGroups({ stable: [s1], canary: [c1], stableWeight: 50, canaryWeight: 50 }), { deps: { random: seededRandom(11) } });
  expect(stack.app.backend(`p.canary.127.0.0.1:${c1.port}`)?.state()).not.toBe('READY');
  const answers = await traffic(stack, 400, { concurrency: 8 });
  expect(answers.every((a) => a.status === 200 && a.by === 's1')).toBe(true);
  expect(c1.count()).toBe(0);
  const fallbacks = await metric(stack, 'infergate_group_fallbacks_total', { pool: 'p', group: 'canary' });
  // About half the requests chose the canary; every one of them fell back.
  expect(fallbacks).toBeGreaterThan(150);
  expect(fallbacks).toBeLessThan(250);
  expect(await metric(stack, 'infergate_requests_total', { pool: 'p', group: 'stable', code: '2xx' })).toBe(400);
});

async function waitCanaryReady(s: Stack): Promise<void> {
  for (const pool of s.app.pools()) {
    for (const b of pool.backends) {
      if (b.routable()) continue;
      await s.waitForLog((l) => l.msg === 'backend state changed' && l.backend === b.id && l.to === 'READY');
    }
  }
}

// Round robin inside each group of a multi-group pool: picks in the other group must not reset a group's rotation.
// Regression: one balancer shared by all groups reset a group's rotation on every pick in the other group
// (round robin forgets a peer absent from the previous pick), so [c1, c2] split ~90/10; each group has its own now.
import { afterEach, expect, test } from 'vitest';
import { waitAllReady } from '../e2e/support.js';
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

test('each group alternates its own backends while the other group takes traffic in between', async () => {
  servers = await Promise.all(['s1', 's2', 'c1', 'c2'].map((n) => namedBackend(n)));
  const [s1, s2, c1, c2] = servers as [NamedBackend, NamedBackend, NamedBackend, NamedBackend];
  stack = await startStack(twoGroups({ stable: [s1, s2], canary: [c1, c2], stableWeight: 70, canaryWeight: 30 }), { deps: { random: seededRandom(4) } });
  await waitAllReady(stack);
  const t = tally(await traffic(stack, 1000, { concurrency: 1 }));
  const share = (a: string, b: string): number => (t.get(a) ?? 0) / ((t.get(a) ?? 0) + (t.get(b) ?? 0));
  // Round robin over two equal backends: within one request of 50/50 in each group.
  expect(Math.abs((t.get('c1') ?? 0) - (t.get('c2') ?? 0))).toBeLessThanOrEqual(1);
  expect(Math.abs((t.get('s1') ?? 0) - (t.get('s2') ?? 0))).toBeLessThanOrEqual(1);
  expect(share('c1', 'c2')).toBeCloseTo(0.5, 1);
});

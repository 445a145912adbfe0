// Sticky users (header, cookie, query) keep their group, and raising the canary weight only moves users into the canary; the pin header reaches an allowed group at weight 0.
import { afterEach, expect, test } from 'vitest';
import { seededRandom } from '../helpers/manual-clock.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { act, closeAll, configFor, namedBackend, rollout, traffic, twoGroups, type Answer, type NamedBackend } from './support.js';
import { waitAllReady } from '../e2e/support.js';

let stack: Stack | undefined;
let servers: NamedBackend[] = [];
afterEach(async () => {
  await closeAll(stack, servers);
  stack = undefined;
  servers = [];
});

const USERS = 500;

async function boot(yaml: (s: NamedBackend, c: NamedBackend) => string): Promise<[NamedBackend, NamedBackend]> {
  servers = await Promise.all(['s1', 'c1'].map((n) => namedBackend(n)));
  const [s1, c1] = servers as [NamedBackend, NamedBackend];
  stack = await startStack(yaml(s1, c1), { deps: { random: seededRandom(5) } });
  await waitAllReady(stack);
  return [s1, c1];
}

/** Which backend each of the USERS users lands on, by `ask(i)` headers/path; asked twice, must agree. */
async function placement(s: Stack, opts: { headers?: (i: number) => Record<string, string>; path?: (i: number) => string }): Promise<string[]> {
  const first = await traffic(s, USERS, { ...opts, concurrency: 16 });
  const second = await traffic(s, USERS, { ...opts, concurrency: 16 });
  const by = (a: Answer[]): string[] => a.map((x) => x.by);
  expect(first.every((a) => a.status === 200)).toBe(true);
  expect(by(second)).toEqual(by(first));
  return by(first);
}

function moves(before: string[], after: string[]): { intoCanary: number; outOfCanary: number; canaryBefore: number; canaryAfter: number } {
  let intoCanary = 0;
  let outOfCanary = 0;
  before.forEach((b, i) => {
    if (b !== 'c1' && after[i] === 'c1') intoCanary++;
    if (b === 'c1' && after[i] !== 'c1') outOfCanary++;
  });
  return { intoCanary, outOfCanary, canaryBefore: before.filter((x) => x === 'c1').length, canaryAfter: after.filter((x) => x === 'c1').length };
}

test('header: the same user always gets the same group; weight 10 -> 25 via the admin API moves users only into the canary', async () => {
  await boot((s1, c1) =>
    twoGroups({
      stable: [s1],
      canary: [c1],
      extra: '    outlier: false\n    sticky: { header: x-user }',
      canaryExtra: '        rollout: { start: manual, interval: 1h }',
    }),
  );
  const s = stack!;
  expect((await act(s, 'weight', { body: '{"weight": 10}' })).status).toBe(200);
  const headers = (i: number): Record<string, string> => ({ 'x-user': `user-${i}` });
  const at10 = await placement(s, { headers });
  expect((await act(s, 'weight', { query: '?weight=25' })).status).toBe(200);
  expect((await rollout(s)).weight).toBe(25);
  const at25 = await placement(s, { headers });
  const m = moves(at10, at25);
  expect(m.outOfCanary).toBe(0);
  expect(m.intoCanary).toBeGreaterThan(0);
  // Shares near the weights (hash spread over 500 users).
  expect(m.canaryBefore / USERS).toBeGreaterThan(0.06);
  expect(m.canaryBefore / USERS).toBeLessThan(0.14);
  expect(m.canaryAfter / USERS).toBeGreaterThan(0.19);
  expect(m.canaryAfter / USERS).toBeLessThan(0.31);
});

test('cookie: sticky across a config reload that raises the canary weight 10 -> 25; nobody leaves the canary', async () => {
  const yaml = (s1: NamedBackend, c1: NamedBackend, stableWeight: number, canaryWeight: number): string =>
    twoGroups({ stable: [s1], canary: [c1], stableWeight, canaryWeight, extra: '    outlier: false\n    sticky: { cookie: uid }' });
  const [s1, c1] = await boot((a, b) => yaml(a, b, 90, 10));
  const s = stack!;
  const headers = (i: number): Record<string, string> => ({ cookie: `theme=dark; uid=u${i * 7919}; lang=en` });
  const at10 = await placement(s, { headers });
  s.app.reload(configFor(s, yaml(s1, c1, 75, 25)));
  const at25 = await placement(s, { headers });
  const m = moves(at10, at25);
  expect(m.outOfCanary).toBe(0);
  expect(m.intoCanary).toBeGreaterThan(0);
  expect(m.canaryAfter / USERS).toBeGreaterThan(0.19);
  expect(m.canaryAfter / USERS).toBeLessThan(0.31);
});

test('query: sticky by a query parameter', async () => {
  await boot((s1, c1) => twoGroups({ stable: [s1], canary: [c1], stableWeight: 50, canaryWeight: 50, extra: '    outlier: false\n    sticky: { query: user }' }));
  const at = await placement(stack!, { path: (i) => `/v1/predict?x=1&user=q${i}` });
  const canary = at.filter((x) => x === 'c1').length;
  expect(canary).toBeGreaterThan(200);
  expect(canary).toBeLessThan(300);
});

test('a request without the sticky key falls back to the weighted random pick', async () => {
  await boot((s1, c1) => twoGroups({ stable: [s1], canary: [c1], stableWeight: 50, canaryWeight: 50, extra: '    outlier: false\n    sticky: { header: x-user }' }));
  const answers = await traffic(stack!, 400, { concurrency: 8 });
  const canary = answers.filter((a) => a.by === 'c1').length;
  expect(canary).toBeGreaterThan(150);
  expect(canary).toBeLessThan(250);
});

test('pin header reaches an allowed group at weight 0; a value not in allow is ignored', async () => {
  servers = await Promise.all(['s1', 'c1', 'b1'].map((n) => namedBackend(n)));
  const [s1, c1, b1] = servers as [NamedBackend, NamedBackend, NamedBackend];
  stack = await startStack(
    `
pools:
  p:
    balance: round-robin
    health: { readiness: { path: /health, interval: 1h, healthyThreshold: 1 } }
    outlier: false
    pinHeader: { name: x-infergate-group, allow: [canary] }
    groups:
      stable: { weight: 100, backends: [${s1.url}] }
      canary: { weight: 0, backends: [${c1.url}] }
      beta: { weight: 0, backends: [${b1.url}] }
`,
    { deps: { random: seededRandom(9) } },
  );
  await waitAllReady(stack);
  const pinned = await traffic(stack, 50, { headers: () => ({ 'x-infergate-group': 'canary' }) });
  expect(pinned.every((a) => a.status === 200 && a.by === 'c1')).toBe(true);
  const notAllowed = await traffic(stack, 50, { headers: () => ({ 'x-infergate-group': 'beta' }) });
  expect(notAllowed.every((a) => a.status === 200 && a.by === 's1')).toBe(true);
  const unknown = await traffic(stack, 20, { headers: () => ({ 'x-infergate-group': 'nope' }) });
  expect(unknown.every((a) => a.by === 's1')).toBe(true);
  const plain = await traffic(stack, 50);
  expect(plain.every((a) => a.by === 's1')).toBe(true);
  expect(b1.count()).toBe(0);
});

test('a pinned request never falls back to another group: canary not READY and no queue -> 503', async () => {
  servers = await Promise.all(['s1', 'c1'].map((n) => namedBackend(n)));
  const [s1, c1] = servers as [NamedBackend, NamedBackend];
  c1.setHealth(503);
  stack = await startStack(
    twoGroups({
      stable: [s1],
      canary: [c1],
      stableWeight: 100,
      canaryWeight: 0,
      extra: '    outlier: false\n    queue: false\n    pinHeader: { allow: [canary] }',
    }),
  );
  const pinned = await traffic(stack, 5, { headers: () => ({ 'x-infergate-group': 'canary' }) });
  expect(pinned.map((a) => a.status)).toEqual([503, 503, 503, 503, 503]);
  expect(s1.count()).toBe(0);
});

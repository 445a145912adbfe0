// Automatic rollout through real traffic: a healthy canary is promoted step by step, a failing or slow one rolled back, a manual one waits, and a half-bad canary group is rolled back as a whole.
import { afterEach, expect, test } from 'vitest';
import { backendByUrl, metric, waitAllReady } from '../e2e/support.js';
import { ManualClock, seededRandom } from '../helpers/manual-clock.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { act, closeAll, everyOther500, namedBackend, ok, PASSING, rollout, status, takes, tally, traffic, twoGroups, until, type Answer, type Behaviour, type NamedBackend } from './support.js';

let stack: Stack | undefined;
let servers: NamedBackend[] = [];
afterEach(async () => {
  await closeAll(stack, servers);
  stack = undefined;
  servers = [];
});

interface Booted {
  s: Stack;
  stable: NamedBackend;
  canary: NamedBackend[];
}

async function boot(o: { canary: Behaviour[]; stable?: Behaviour; rollout: string; outlier?: string; balance?: string; clock: ManualClock }): Promise<Booted> {
  const stable = await namedBackend('s1', o.stable ?? ok);
  const canary = await Promise.all(o.canary.map((b, i) => namedBackend(`c${i + 1}`, b)));
  servers = [stable, ...canary];
  stack = await startStack(
    twoGroups({
      stable: [stable],
      canary,
      extra: o.outlier ?? '    outlier: false',
      ...(o.balance === undefined ? {} : { balance: o.balance }),
      canaryExtra: `        rollout: ${o.rollout}`,
    }),
    { deps: { clock: o.clock, random: seededRandom(21) } },
  );
  await waitAllReady(stack);
  return { s: stack, stable, canary };
}

/** Traffic until the canary group and stable have each seen `n` more requests than now. */
async function fill(b: Booted, n: number, opts: { concurrency?: number } = {}): Promise<Answer[]> {
  const c0 = b.canary.reduce((a, x) => a + x.count(), 0);
  const s0 = b.stable.count();
  return until(b.s, () => b.canary.reduce((a, x) => a + x.count(), 0) - c0 >= n && b.stable.count() - s0 >= n, opts);
}

test('a healthy canary is promoted through every step: 10 -> 25 -> 50 -> promoted (100), stable 0', async () => {
  const clock = new ManualClock();
  const b = await boot({ canary: [ok], rollout: `{ steps: [10, 25, 50, 100], interval: 30s, minRequests: ${PASSING} }`, clock });
  const seen: number[] = [];
  let r = await rollout(b.s);
  expect(r).toMatchObject({ pool: 'p', group: 'canary', state: 'progressing', weight: 10, step: 0 });
  for (const expected of [25, 50]) {
    await fill(b, PASSING);
    clock.advance(30_000);
    r = await rollout(b.s);
    seen.push(r.weight);
    expect(r).toMatchObject({ state: 'progressing', weight: expected });
    expect(r.lastCheck?.verdict).toBe('pass');
  }
  await fill(b, PASSING);
  clock.advance(30_000);
  r = await rollout(b.s);
  expect(r).toMatchObject({ state: 'promoted', weight: 100, stableWeight: 0 });
  expect(r.history.map((h) => `${h.from}->${h.to}@${h.weight}`)).toEqual([
    'pending->progressing@10',
    'progressing->progressing@25',
    'progressing->progressing@50',
    'progressing->promoted@100',
  ]);
  expect(await metric(b.s, 'infergate_rollout_weight', { pool: 'p', group: 'canary' })).toBe(100);
  expect(await metric(b.s, 'infergate_rollout_weight', { pool: 'p', group: 'stable' })).toBe(0);
  expect(await metric(b.s, 'infergate_rollout_state', { pool: 'p', group: 'canary', state: 'promoted' })).toBe(1);
  expect(await metric(b.s, 'infergate_rollout_checks_total', { pool: 'p', group: 'canary', verdict: 'pass' })).toBe(3);
  const after = await traffic(b.s, 100);
  expect(tally(after).get('c1')).toBe(100);
});

test('a 50%-failing canary is rolled back at the first check after minRequests: weight 0 at once, reason recorded, stable takes everything', async () => {
  const clock = new ManualClock();
  const b = await boot({ canary: [everyOther500], rollout: '{ steps: [10, 25, 50, 100], interval: 30s, minRequests: 20 }', clock });
  const c1 = b.canary[0]!;
  // Fewer than minRequests: the check is inconclusive and the window keeps growing.
  await until(b.s, () => c1.count() >= 8);
  clock.advance(30_000);
  let r = await rollout(b.s);
  expect(r).toMatchObject({ state: 'progressing', weight: 10 });
  expect(r.lastCheck?.verdict).toBe('inconclusive');
  const answers = await until(b.s, () => c1.count() >= 20);
  clock.advance(30_000);
  r = await rollout(b.s);
  expect(r).toMatchObject({ state: 'rolled-back', weight: 0, stableWeight: 100 });
  expect(r.reason).toMatch(/canary error rate (4[5-9]|5\d)\.\d% > 5\.0%/);
  expect(r.lastCheck?.verdict).toBe('fail');
  expect(r.lastCheck?.failures).toContain('error-rate');
  expect(r.history.at(-1)).toMatchObject({ from: 'progressing', to: 'rolled-back', weight: 0 });
  expect(await metric(b.s, 'infergate_rollout_weight', { pool: 'p', group: 'canary' })).toBe(0);
  expect(await metric(b.s, 'infergate_rollout_weight', { pool: 'p', group: 'stable' })).toBe(100);
  expect(await metric(b.s, 'infergate_rollout_state', { pool: 'p', group: 'canary', state: 'rolled-back' })).toBe(1);
  expect(await metric(b.s, 'infergate_rollout_checks_total', { pool: 'p', group: 'canary', verdict: 'fail' })).toBe(1);
  await b.s.waitForLog((l) => l.msg === 'rollout rolled back' && l.group === 'canary');
  // What clients saw before the rollback: only the canary's own failures, about half of its ~10% share.
  expect(answers.filter((a) => a.status !== 200).every((a) => a.by === 'c1')).toBe(true);
  const before = c1.count();
  const after = await traffic(b.s, 200);
  expect(after.every((a) => a.status === 200 && a.by === 's1')).toBe(true);
  expect(c1.count()).toBe(before);
  // Nothing steps it up again.
  clock.advance(300_000);
  expect(await rollout(b.s)).toMatchObject({ state: 'rolled-back', weight: 0 });
});

test('a canary 3x slower than stable is rolled back by the latency ratio (failureThreshold 2: weight held after the first failed check)', async () => {
  const clock = new ManualClock();
  // Each answer moves the proxy's clock on by its latency; one request at a time, so each measures exactly that.
  const b = await boot({
    stable: takes(clock, 15),
    canary: [takes(clock, 45)],
    rollout: '{ steps: [50, 100], interval: 30s, minRequests: 10, latencyQuantile: 0.5 }',
    clock,
  });
  await fill(b, 10, { concurrency: 1 });
  clock.advance(30_000);
  let r = await rollout(b.s);
  expect(r).toMatchObject({ state: 'progressing', weight: 50, failedChecks: 1 });
  expect(r.lastCheck?.failures).toEqual(['latency-ratio']);
  expect(r.lastCheck).toMatchObject({ latencyRatio: 3, canary: { latencyMs: 45 }, stable: { latencyMs: 15 } });
  await fill(b, 10, { concurrency: 1 });
  clock.advance(30_000);
  r = await rollout(b.s);
  expect(r).toMatchObject({ state: 'rolled-back', weight: 0 });
  expect(r.reason).toMatch(/2 failed checks \(threshold 2\): p50 latency ratio \d+\.\d\dx > 1\.25x/);
});

test('start: manual stays pending (weight 0, no canary traffic) until POST .../start', async () => {
  const clock = new ManualClock();
  const b = await boot({ canary: [ok], rollout: '{ start: manual, interval: 30s, minRequests: 10 }', clock });
  const c1 = b.canary[0]!;
  await traffic(b.s, 100);
  clock.advance(120_000);
  expect(await rollout(b.s)).toMatchObject({ state: 'pending', weight: 0, canaryReady: true });
  expect(c1.count()).toBe(0);
  const res = await act(b.s, 'start');
  expect(res.status).toBe(200);
  expect(res.body.rollout).toMatchObject({ state: 'progressing', weight: 10 });
  await until(b.s, () => c1.count() > 0);
});

test('start: manual also starts with POST .../resume', async () => {
  const b = await boot({ canary: [ok], rollout: '{ start: manual, interval: 30s }', clock: new ManualClock() });
  expect((await rollout(b.s)).state).toBe('pending');
  const res = await act(b.s, 'resume');
  expect(res.status).toBe(200);
  expect(res.body.rollout).toMatchObject({ state: 'progressing', weight: 10 });
});

test('a canary group of two backends, one fine and one failing, is rolled back as a whole (outlier detection off)', async () => {
  const clock = new ManualClock();
  const b = await boot({ canary: [ok, status(500)], rollout: '{ steps: [10, 25, 50, 100], interval: 30s, minRequests: 20 }', clock });
  const [c1, c2] = b.canary as [NamedBackend, NamedBackend];
  await until(b.s, () => c1.count() + c2.count() >= 20);
  expect(c1.count()).toBeGreaterThan(0);
  expect(c2.count()).toBeGreaterThan(0);
  clock.advance(30_000);
  const r = await rollout(b.s);
  expect(r).toMatchObject({ state: 'rolled-back', weight: 0 });
  expect(r.lastCheck?.canary.requests).toBeGreaterThanOrEqual(20);
  // Not an ejection: both canary backends are still READY, they just get no traffic.
  expect(backendByUrl(b.s, c1.url).state()).toBe('READY');
  expect(backendByUrl(b.s, c2.url).state()).toBe('READY');
  const before = [c1.count(), c2.count()];
  const after = await traffic(b.s, 200);
  expect(after.every((a) => a.status === 200 && a.by === 's1')).toBe(true);
  expect([c1.count(), c2.count()]).toEqual(before);
});

test('with default outlier settings both act: the failing canary backend is ejected first, then the canary group is rolled back', async () => {
  const clock = new ManualClock();
  // random balancing: see group-round-robin.test.ts for why not round-robin (yet).
  const b = await boot({ canary: [ok, status(500)], rollout: '{ steps: [10, 25, 50, 100], interval: 30s, minRequests: 20 }', outlier: '', balance: 'random', clock });
  const [c1, c2] = b.canary as [NamedBackend, NamedBackend];
  const c2id = backendByUrl(b.s, c2.url).id;
  // One request at a time, so no request is already on its way to c2 when it is ejected.
  await until(b.s, () => c1.count() + c2.count() >= 20, { concurrency: 1 });
  // consecutive5xx (default 5) took c2 out on its 5th error, long before the check.
  expect(c2.count()).toBe(5);
  expect(backendByUrl(b.s, c2.url).state()).toBe('EJECTED');
  expect(await metric(b.s, 'infergate_outlier_ejections_total', { backend: c2id, detector: 'consecutive-5xx' })).toBe(1);
  clock.advance(30_000);
  const r = await rollout(b.s);
  // 5 errors in >= 20 canary requests is still far above maxErrorRate: the version is bad, not just one replica.
  expect(r).toMatchObject({ state: 'rolled-back', weight: 0 });
  const before = [c1.count(), c2.count()];
  const after = await traffic(b.s, 200);
  expect(after.every((a) => a.status === 200 && a.by === 's1')).toBe(true);
  expect([c1.count(), c2.count()]).toEqual(before);
  // When c2's ejection ends it comes back READY but, rolled back, still gets nothing.
  clock.advance(30_000);
  await until(b.s, () => backendByUrl(b.s, c2.url).state() === 'READY', { max: 2000 });
  await traffic(b.s, 100);
  expect([c1.count(), c2.count()]).toEqual(before);
});

test('the textbook bad canary: two canary backends at steps [50, 100], one failing every request and ejected after 5 errors, roll back together', async () => {
  const clock = new ManualClock();
  const b = await boot({ canary: [ok, status(500)], rollout: '{ steps: [50, 100], interval: 3s }', outlier: '', balance: 'random', clock });
  const [c1, c2] = b.canary as [NamedBackend, NamedBackend];
  expect(await rollout(b.s)).toMatchObject({ state: 'progressing', weight: 50 });
  // One interval of traffic (150 requests, 50 req/s for 3 s), one at a time so nothing is on its way to c2 when it leaves.
  await until(b.s, () => c1.count() + c2.count() + b.stable.count() >= 150, { concurrency: 1 });
  expect(c2.count()).toBe(5);
  expect(backendByUrl(b.s, c2.url).state()).toBe('EJECTED');
  let r = await rollout(b.s);
  expect(r.backendsOut.map((x) => [x.id, x.state])).toEqual([[backendByUrl(b.s, c2.url).id, 'EJECTED']]);
  clock.advance(3_000);
  r = await rollout(b.s);
  // The ejection hid c2's failures from the window (5 errors, then none), not from the check.
  expect(r).toMatchObject({ state: 'progressing', weight: 50, failedChecks: 1 });
  expect(r.lastCheck?.canary.errors).toBe(5);
  expect(r.lastCheck?.failures).toContain('backend-out');
  expect(r.lastCheck?.reason).toMatch(/canary backend out of service: p\.canary\.127\.0\.0\.1:\d+ EJECTED \(ejected for 30 s: 5 consecutive server errors\)/);
  const before = b.canary.reduce((a, x) => a + x.count(), 0) + b.stable.count();
  await until(b.s, () => c1.count() + c2.count() + b.stable.count() - before >= 150, { concurrency: 1 });
  clock.advance(3_000);
  r = await rollout(b.s);
  expect(r).toMatchObject({ state: 'rolled-back', weight: 0, stableWeight: 100 });
  expect(r.reason).toMatch(/^2 failed checks \(threshold 2\): canary backend out of service/);
  const counts = [c1.count(), c2.count()];
  const after = await traffic(b.s, 100);
  expect(after.every((a) => a.status === 200 && a.by === 's1')).toBe(true);
  expect([c1.count(), c2.count()]).toEqual(counts);
});

test('a one-backend canary ejected by outlier detection is rolled back at once, not left progressing until the ejection ends', async () => {
  const clock = new ManualClock();
  const b = await boot({ canary: [status(500)], rollout: '{ steps: [10, 25, 50, 100], interval: 30s, minRequests: 20 }', outlier: '', clock });
  const c1 = b.canary[0]!;
  await until(b.s, () => c1.count() >= 5, { concurrency: 1 });
  expect(backendByUrl(b.s, c1.url).state()).toBe('EJECTED');
  // No check has run (no clock advance): the ejection itself rolled the canary back.
  const r = await rollout(b.s);
  expect(r).toMatchObject({ state: 'rolled-back', weight: 0 });
  expect(r.reason).toBe('every canary backend ejected by outlier detection (ejected for 30 s: 5 consecutive server errors)');
  expect(r.lastCheck).toBeNull();
  // When the ejection ends the backend is READY again, but the rollout stays rolled back.
  clock.advance(30_000);
  await until(b.s, () => backendByUrl(b.s, c1.url).state() === 'READY', { max: 2000 });
  const after = await traffic(b.s, 100);
  expect(after.every((a) => a.status === 200 && a.by === 's1')).toBe(true);
  expect(c1.count()).toBe(5);
  expect(await rollout(b.s)).toMatchObject({ state: 'rolled-back', weight: 0 });
});

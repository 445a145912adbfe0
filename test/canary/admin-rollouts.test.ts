// The rollout admin API through real sockets: GET /admin/rollouts shape, every action, 401/404/405/409/400, and the rollout metrics.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { metric, waitAllReady } from '../e2e/support.js';
import { ManualClock, seededRandom } from '../helpers/manual-clock.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { act, closeAll, namedBackend, PASSING, rollouts, takes, traffic, twoGroups, until, type NamedBackend } from './support.js';

const TOKEN = 'canary-admin-token';

interface Booted {
  stack: Stack;
  clock: ManualClock;
  s1: NamedBackend;
  c1: NamedBackend;
  close(): Promise<void>;
}

/**
 * A stable and a canary backend (10 ms and 12 ms on the proxy's clock), and the rollout past one passing check
 * (at t = 30 s): traffic one request at a time until each side has 10, so each latency is measured exactly.
 */
async function boot(): Promise<Booted> {
  const clock = new ManualClock();
  const s1 = await namedBackend('s1', takes(clock, 10));
  const c1 = await namedBackend('c1', takes(clock, 12));
  const stack = await startStack(
    twoGroups({
      stable: [s1],
      canary: [c1],
      top: `admin: { listen: 127.0.0.1:0, token: ${TOKEN} }`,
      canaryExtra: `        rollout: { steps: [10, 25, 50, 100], interval: 30s, minRequests: ${PASSING} }`,
    }),
    { deps: { clock, random: seededRandom(17) } },
  );
  await waitAllReady(stack);
  // One conclusive check, so lastCheck has figures.
  await until(stack, () => c1.count() >= PASSING && s1.count() >= PASSING, { concurrency: 1 });
  clock.advance(30_000 - clock.now());
  return { stack, clock, s1, c1, close: () => closeAll(stack, [s1, c1]) };
}

/** ISO wall time at `ms` on a ManualClock. */
const iso = (ms: number): string => new Date(1_700_000_000_000 + ms).toISOString();

// Shared by the tests that change nothing (reads, and requests refused with 4xx); the actions test boots its own.
let shared: Booted;
let stack: Stack;
beforeAll(async () => {
  shared = await boot();
  stack = shared.stack;
});
afterAll(() => shared.close());

const as = { token: TOKEN };

test('GET /admin/rollouts: pool, group, state, weight, step, the last check\'s figures and the history', async () => {
  const [r, ...more] = await rollouts(stack, TOKEN);
  expect(more).toHaveLength(0);
  expect(r).toMatchObject({ pool: 'p', group: 'canary', state: 'progressing', weight: 25, stableWeight: 75, step: 1, steps: [10, 25, 50, 100], failedChecks: 0, failureThreshold: 2, canaryReady: true });
  expect(r!.since).toBe(iso(30_000));
  const check = r!.lastCheck!;
  expect(check).toMatchObject({ at: iso(30_000), verdict: 'pass', windowMs: 30_000, quantile: 0.99, failures: [], reason: null, errorRatio: 0 });
  // Every request since the rollout started is in the window.
  expect(check.canary).toEqual({ requests: shared.c1.count(), errors: 0, errorRate: 0, latencyMs: 12 });
  expect(check.stable).toEqual({ requests: shared.s1.count(), errors: 0, errorRate: 0, latencyMs: 10 });
  expect(check.latencyRatio).toBe(1.2);
  expect(r!.history.map((h) => [h.at, h.from, h.to, h.weight, h.step])).toEqual([
    [iso(0), 'pending', 'progressing', 10, 0],
    [iso(30_000), 'progressing', 'progressing', 25, 1],
  ]);
  expect(r!.history[1]!.check?.verdict).toBe('pass');
});

test('401 without the token, or with a wrong one, for GET and for actions', async () => {
  expect((await fetch(`${stack.adminUrl}/admin/rollouts`)).status).toBe(401);
  expect((await act(stack, 'pause')).status).toBe(401);
  expect((await act(stack, 'pause', { token: 'wrong' })).status).toBe(401);
  expect((await rollouts(stack, TOKEN))[0]?.state).toBe('progressing');
});

test('every action in turn, with 409 when it changes nothing, counted in the rollout metrics', async () => {
  const own = await boot();
  const stack = own.stack;
  try {
    const step = async (action: string, want: number, extra: { body?: string; query?: string } = {}): Promise<Record<string, unknown>> => {
      const res = await act(stack, action, { ...as, ...extra });
      expect(res.status, `${action} ${JSON.stringify(res.body)}`).toBe(want);
      return (res.body.rollout ?? {}) as Record<string, unknown>;
    };
    expect(await step('pause', 200)).toMatchObject({ state: 'paused', weight: 25 });
    const again = await act(stack, 'pause', as);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ error: 'no-change', rollout: { state: 'paused' } });
    expect(await step('resume', 200)).toMatchObject({ state: 'progressing', weight: 25 });
    expect(await step('resume', 409)).toMatchObject({ state: 'progressing' });
    expect(await step('weight', 200, { body: '{"weight": 40}' })).toMatchObject({ state: 'paused', weight: 40, stableWeight: 60 });
    expect(await step('weight', 409, { query: '?weight=40' })).toMatchObject({ state: 'paused', weight: 40 });
    expect(await step('weight', 200, { query: '?weight=35' })).toMatchObject({ weight: 35 });
    expect(await step('promote', 200)).toMatchObject({ state: 'promoted', weight: 100, stableWeight: 0 });
    expect(await step('promote', 409)).toMatchObject({ state: 'promoted' });
    expect(await step('abort', 200)).toMatchObject({ state: 'rolled-back', weight: 0, reason: 'aborted by operator' });
    expect(await step('abort', 409)).toMatchObject({ state: 'rolled-back' });
    // Rolled back: all traffic on stable.
    const answers = await traffic(stack, 50);
    expect(answers.every((a) => a.by === 's1')).toBe(true);
    expect(await step('start', 200)).toMatchObject({ state: 'progressing', weight: 10, step: 0 });
    expect(await step('start', 409)).toMatchObject({ state: 'progressing' });
    const history = (await rollouts(stack, TOKEN))[0]!.history.map((h) => h.reason);
    expect(history).toEqual(expect.arrayContaining(['paused by operator', 'resumed by operator', 'weight set to 40% by operator', 'promoted by operator', 'aborted by operator', 'started by operator']));

    // Only the check and the operator's actions moved the rollout.
    expect(await metric(stack, 'infergate_rollout_weight', { pool: 'p', group: 'canary' })).toBe(10);
    expect(await metric(stack, 'infergate_rollout_weight', { pool: 'p', group: 'stable' })).toBe(90);
    expect(await metric(stack, 'infergate_rollout_state', { pool: 'p', group: 'canary', state: 'progressing' })).toBe(1);
    expect(await metric(stack, 'infergate_rollout_state', { pool: 'p', group: 'canary', state: 'rolled-back' })).toBe(0);
    expect(await metric(stack, 'infergate_rollout_checks_total', { pool: 'p', group: 'canary', verdict: 'pass' })).toBe(1);
    expect(await metric(stack, 'infergate_rollout_transitions_total', { pool: 'p', group: 'canary', from: 'progressing', to: 'paused' })).toBe(2); // pause, and weight 40 after the resume
  } finally {
    await own.close();
  }
});

test.each([
  ['weight above 100', { body: '{"weight": 101}' }],
  ['negative weight', { query: '?weight=-1' }],
  ['weight not a number', { query: '?weight=abc' }],
  ['weight missing', { body: '{}' }],
  ['body not JSON', { body: 'weight=20' }],
])('400 for a bad weight: %s', async (_name, extra) => {
  const res = await act(stack, 'weight', { ...as, ...extra });
  expect(res.status).toBe(400);
  expect(res.body.error).toBe('bad-request');
});

test('404 for an unknown pool or group; 405 for GET on an action', async () => {
  expect((await act(stack, 'pause', { ...as, pool: 'nope' })).status).toBe(404);
  const res = await act(stack, 'pause', { ...as, group: 'stable' });
  expect(res.status).toBe(404);
  expect(res.body.error).toBe('unknown-rollout');
  const get = await fetch(`${stack.adminUrl}/admin/rollouts/p/canary/pause`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(get.status).toBe(405);
});

test('metrics: rollout weight, state, checks and transitions, and requests per group', async () => {
  expect(await metric(stack, 'infergate_rollout_weight', { pool: 'p', group: 'canary' })).toBe(25);
  expect(await metric(stack, 'infergate_rollout_weight', { pool: 'p', group: 'stable' })).toBe(75);
  expect(await metric(stack, 'infergate_rollout_state', { pool: 'p', group: 'canary', state: 'progressing' })).toBe(1);
  expect(await metric(stack, 'infergate_rollout_state', { pool: 'p', group: 'canary', state: 'rolled-back' })).toBe(0);
  expect(await metric(stack, 'infergate_rollout_checks_total', { pool: 'p', group: 'canary', verdict: 'pass' })).toBe(1);
  expect(await metric(stack, 'infergate_rollout_transitions_total', { pool: 'p', group: 'canary', from: 'pending', to: 'progressing' })).toBe(1);
  expect(await metric(stack, 'infergate_rollout_transitions_total', { pool: 'p', group: 'canary', from: 'progressing', to: 'progressing' })).toBe(1);
  expect(await metric(stack, 'infergate_rollout_transitions_total', { pool: 'p', group: 'canary', from: 'progressing', to: 'paused' })).toBe(0);
  expect(await metric(stack, 'infergate_requests_total', { pool: 'p', group: 'canary', code: '2xx' })).toBe(shared.c1.count());
  expect(await metric(stack, 'infergate_requests_total', { pool: 'p', group: 'stable', code: '2xx' })).toBe(shared.s1.count());
});

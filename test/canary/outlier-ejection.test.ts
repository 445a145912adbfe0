// Passive outlier ejection through real traffic: each detector at its threshold and not before, growing ejection time, return through readiness, and the ejection cap.
import { afterEach, expect, test } from 'vitest';
import { until } from '../readiness/support.js';
import { backendByUrl, metric, waitAllReady } from '../e2e/support.js';
import { ManualClock, seededRandom } from '../helpers/manual-clock.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { adminBackend, closeAll, nextState, everyOther500, get, HEALTH, namedBackend, ok, reset, status, traffic, type Behaviour, type NamedBackend } from './support.js';

let stack: Stack | undefined;
let servers: NamedBackend[] = [];
afterEach(async () => {
  await closeAll(stack, servers);
  stack = undefined;
  servers = [];
});

async function boot(behaviours: Behaviour[], outlier: string, clock = new ManualClock()): Promise<{ s: Stack; b: NamedBackend[]; clock: ManualClock }> {
  servers = await Promise.all(behaviours.map((x, i) => namedBackend(`b${i}`, x)));
  stack = await startStack(
    `
pools:
  p:
    balance: round-robin
    health: ${HEALTH}
    outlier: ${outlier}
    backends: [${servers.map((b) => b.url).join(', ')}]
`,
    { deps: { clock, random: seededRandom(1) } },
  );
  await waitAllReady(stack);
  return { s: stack, b: servers, clock };
}

/** One request at a time until `b` has seen `n` requests (bounded). */
async function feed(s: Stack, b: NamedBackend, n: number, method = 'GET'): Promise<void> {
  for (let i = 0; b.count() < n; i++) {
    if (i > 50 * n) throw new Error(`${b.name} did not reach ${n} requests`);
    await get(`${s.url}/v1/predict`, {}, method);
  }
}

const stateOf = (s: Stack, b: NamedBackend): string => backendByUrl(s, b.url).state();

test('consecutive5xx: a backend answering 500 is ejected on its 3rd error, not before; shown, logged, counted; no traffic while ejected', async () => {
  const { s, b } = await boot([ok, status(500), ok], '{ consecutive5xx: 3, consecutiveGatewayErrors: 0, maxEjectionPercent: 50, baseEjectionTime: 10s, interval: 1h }');
  const bad = b[1]!;
  for (let k = 1; k <= 2; k++) {
    await feed(s, bad, k);
    expect(stateOf(s, bad)).toBe('READY');
  }
  await feed(s, bad, 3);
  expect(stateOf(s, bad)).toBe('EJECTED');
  const view = await adminBackend(s, bad.url);
  expect(view).toMatchObject({ state: 'EJECTED', ejections: 1 });
  expect(view.stateReason).toContain('3 consecutive server errors');
  const line = await s.waitForLog((l) => l.msg === 'backend ejected');
  expect(line).toMatchObject({ backend: view.id, detector: 'consecutive-5xx', durationMs: 10_000, ejections: 1 });
  expect(await metric(s, 'infergate_outlier_ejections_total', { backend: view.id, detector: 'consecutive-5xx' })).toBe(1);
  const answers = await traffic(s, 40);
  expect(answers.every((a) => a.status === 200 && a.by !== 'b1')).toBe(true);
  expect(bad.count()).toBe(3);
});

test('ejection time grows (base x n) and the backend returns through its readiness probe: UNREADY, then READY', async () => {
  const { s, b, clock } = await boot([ok, status(500)], '{ consecutive5xx: 3, consecutiveGatewayErrors: 0, maxEjectionPercent: 50, baseEjectionTime: 10s, interval: 1h }');
  const bad = b[1]!;
  const backend = backendByUrl(s, bad.url);
  await feed(s, bad, 3);
  expect(backend.state()).toBe('EJECTED');

  clock.advance(9_999);
  expect(backend.state()).toBe('EJECTED');
  const back = nextState(s, backend.id, 'READY');
  clock.advance(1);
  // The ejection is over but the backend is not trusted yet: its probe (sent at once) has not answered.
  expect(backend.state()).toBe('UNREADY');
  await back;
  expect(backend.state()).toBe('READY');

  // It still fails: the second ejection lasts twice as long.
  await feed(s, bad, 6);
  expect(backend.state()).toBe('EJECTED');
  const second = await s.waitForLog((l) => l.msg === 'backend ejected' && l.ejections === 2);
  expect(second.durationMs).toBe(20_000);
  expect((await adminBackend(s, bad.url)).ejections).toBe(2);
  clock.advance(10_000);
  expect(backend.state()).toBe('EJECTED');
  const backAgain = nextState(s, backend.id, 'READY');
  clock.advance(10_000);
  expect(backend.state()).toBe('UNREADY');
  await backAgain;
  expect(await metric(s, 'infergate_outlier_ejections_total', { backend: backend.id })).toBe(2);
});

test('a returning backend whose probe fails stays UNREADY (no traffic) until a probe passes', async () => {
  const { s, b, clock } = await boot([ok, status(500)], '{ consecutive5xx: 2, consecutiveGatewayErrors: 0, maxEjectionPercent: 50, baseEjectionTime: 10s, interval: 1h }');
  const bad = b[1]!;
  const backend = backendByUrl(s, bad.url);
  await feed(s, bad, 2);
  expect(backend.state()).toBe('EJECTED');
  bad.setHealth(503);
  const failsBefore = await metric(s, 'infergate_health_checks_total', { backend: backend.id, result: 'fail' });
  clock.advance(10_000);
  expect(backend.state()).toBe('UNREADY');
  // The probe sent at the end of the ejection fails (bounded wait on its counter: each look is a round trip, not a sleep).
  for (let i = 0; (await metric(s, 'infergate_health_checks_total', { backend: backend.id, result: 'fail' })) === failsBefore; i++) {
    if (i > 200) throw new Error('the readiness probe after the ejection never ran');
  }
  expect(backend.state()).toBe('UNREADY');
  const before = bad.count();
  await traffic(s, 20);
  expect(bad.count()).toBe(before);
  bad.setHealth(200);
  bad.behave = ok;
  const ready = nextState(s, backend.id, 'READY');
  clock.advance(3_600_000); // the next readiness probe, exactly (no jitter); its timeout timer stays in the future
  await ready;
  await traffic(s, 20);
  expect(bad.count()).toBeGreaterThan(before);
});

test('consecutiveGatewayErrors: a backend answering 502 is ejected on its 3rd gateway error', async () => {
  const { s, b } = await boot([ok, status(502), ok], '{ consecutive5xx: 10, consecutiveGatewayErrors: 3, maxEjectionPercent: 50 }');
  const bad = b[1]!;
  await feed(s, bad, 2);
  expect(stateOf(s, bad)).toBe('READY');
  await feed(s, bad, 3);
  expect(stateOf(s, bad)).toBe('EJECTED');
  const id = backendByUrl(s, bad.url).id;
  expect(await metric(s, 'infergate_outlier_ejections_total', { backend: id, detector: 'consecutive-gateway' })).toBe(1);
  expect((await adminBackend(s, bad.url)).stateReason).toContain('3 consecutive gateway errors');
});

test('consecutiveGatewayErrors: a resetting backend is held for re-verification at each reset, ejected on its 3rd; the ejection outlives re-verification', async () => {
  // POST is not retried after a reset (it may have been processed), so each request is exactly one attempt on it.
  const { s, b } = await boot([ok, reset, ok], '{ consecutive5xx: 10, consecutiveGatewayErrors: 3, maxEjectionPercent: 50 }');
  const bad = b[1]!;
  for (let k = 1; k <= 2; k++) {
    await feed(s, bad, k, 'POST');
    // A reset is a hint the process changed: held, probed at once, back READY (its health endpoint answers).
    await until(s, () => stateOf(s, bad) === 'READY', `${bad.name} re-verified after reset ${k}`);
  }
  await feed(s, bad, 3, 'POST');
  await until(s, () => stateOf(s, bad) === 'EJECTED', `${bad.name} ejected after its 3rd reset, also once re-verified`);
  const id = backendByUrl(s, bad.url).id;
  expect(await metric(s, 'infergate_outlier_ejections_total', { backend: id, detector: 'consecutive-gateway' })).toBe(1);
  const after = await traffic(s, 20, { method: 'POST' });
  expect(after.every((a) => a.status === 200)).toBe(true);
  expect(bad.count()).toBe(3);
});

test('failureRate: judged at the sweep, only with minRequests in the window', async () => {
  const twoInThree: Behaviour = (n, req, res) => (n % 3 === 0 ? ok(n, req, res) : status(500)(n, req, res));
  const { s, b, clock } = await boot(
    [ok, twoInThree, ok],
    '{ consecutive5xx: 0, consecutiveGatewayErrors: 0, failureRate: { threshold: 0.5, minRequests: 10, window: 60s }, interval: 10s, maxEjectionPercent: 50 }',
  );
  const bad = b[1]!;
  await feed(s, bad, 6);
  clock.advance(10_000); // sweep: 6 requests < minRequests
  expect(stateOf(s, bad)).toBe('READY');
  await feed(s, bad, 12);
  expect(stateOf(s, bad)).toBe('READY'); // 8 of 12 failed, but nothing is judged between sweeps
  clock.advance(10_000);
  expect(stateOf(s, bad)).toBe('EJECTED');
  const id = backendByUrl(s, bad.url).id;
  expect(await metric(s, 'infergate_outlier_ejections_total', { backend: id, detector: 'failure-rate' })).toBe(1);
  expect((await adminBackend(s, bad.url)).stateReason).toMatch(/error rate 66\.7% \(8 of 12 requests/);
});

test('maxEjectionPercent 50 of 4 backends: two failing backends are ejected, the third is refused (counted) and keeps serving', async () => {
  const { s, b } = await boot([ok, status(500), status(500), status(500)], '{ consecutive5xx: 2, consecutiveGatewayErrors: 0, maxEjectionPercent: 50 }');
  await traffic(s, 60, { concurrency: 1 });
  const states = b.map((x) => stateOf(s, x));
  expect(states[0]).toBe('READY');
  expect(states.filter((x) => x === 'EJECTED')).toHaveLength(2);
  const refused = b.find((_x, i) => i > 0 && states[i] === 'READY')!;
  expect(refused).toBeDefined();
  expect(await metric(s, 'infergate_outlier_ejections_skipped_total', { pool: 'p', detector: 'consecutive-5xx' })).toBeGreaterThanOrEqual(1);
  const skip = await s.waitForLog((l) => l.msg === 'backend not ejected: ejection limit reached');
  expect(String(skip.reason)).toContain('maxEjectionPercent 50%');
  const before = refused.count();
  await traffic(s, 20, { concurrency: 1 });
  expect(refused.count()).toBeGreaterThan(before);
});

test('never the last READY backend, even at maxEjectionPercent 100', async () => {
  const { s, b } = await boot([status(500), status(500)], '{ consecutive5xx: 2, consecutiveGatewayErrors: 0, maxEjectionPercent: 100 }');
  await traffic(s, 20, { concurrency: 1 });
  const states = b.map((x) => stateOf(s, x)).sort();
  expect(states).toEqual(['EJECTED', 'READY']);
  const skip = await s.waitForLog((l) => l.msg === 'backend not ejected: ejection limit reached');
  expect(String(skip.reason)).toContain('last serving backend');
  // The pool still answers (with the backend's own 500s), rather than 503 for no READY backend.
  const answers = await traffic(s, 5, { concurrency: 1 });
  expect(answers.every((a) => a.status === 500)).toBe(true);
});

test('a 50%-failing backend whose failures never come in a row is not ejected by the consecutive detectors', async () => {
  const { s, b } = await boot([ok, everyOther500], '{ consecutive5xx: 2, consecutiveGatewayErrors: 2, maxEjectionPercent: 50 }');
  await traffic(s, 60, { concurrency: 1 });
  expect(stateOf(s, b[1]!)).toBe('READY');
});

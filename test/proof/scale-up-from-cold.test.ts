// Issue-3 proof: traffic from t=0 while four backends load (0, 2, 4 s, one with the wrong model version) sees zero errors.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { BackendState } from '../../src/backends/state.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { backendByUrl, metric } from '../e2e/support.js';
import { RecordingModelServer } from './recording-model-server.js';
import { SteadyClient, describeErrors, type Outcome } from './steady-client.js';

const SEND_EVERY_MS = 20;
const SEND_FOR_MS = 6000;

let good: RecordingModelServer[];
let wrong: RecordingModelServer;
let stack: Stack;
let outcomes: Outcome[];
let client: SteadyClient;
/** The backend's infergate state at the moment each of its user requests arrived. */
const stateAtArrival = new Map<RecordingModelServer, BackendState[]>();

beforeAll(async () => {
  good = await Promise.all([0, 2000, 4000].map((loadDelayMs) => new RecordingModelServer({ version: '2', loadDelayMs }).start()));
  wrong = await new RecordingModelServer({ version: '1', loadDelayMs: 0 }).start();
  const all = [...good, wrong];
  // Warm-up and admission configured; the default queue (max 1000, timeout 10 s) holds t=0 requests.
  stack = await startStack(
    `
log: { level: info, accessLog: false }
pools:
  p:
    balance: round-robin
    health:
      readiness: { path: /health, interval: 200ms, timeout: 500ms, healthyThreshold: 1, unhealthyThreshold: 1 }
      model: { name: m, version: "2", metadataPath: /meta, namePointer: /model/name, versionPointer: /model/version }
    warmup: { requests: 2, method: POST, path: /v1/infer, body: "{}" }
    backends: [${all.map((s) => s.url).join(', ')}]
`,
    { waitReady: false },
  );
  for (const s of all) {
    const b = backendByUrl(stack, s.url);
    stateAtArrival.set(s, []);
    s.onUserRequest = () => stateAtArrival.get(s)!.push(b.state());
  }
  client = new SteadyClient(stack.url, { intervalMs: SEND_EVERY_MS, maxRequests: Math.ceil(SEND_FOR_MS / SEND_EVERY_MS) });
  client.start();
  // The run ends when the client has sent its bounded number of requests; stop() waits for the last answers.
  await client.allSent;
  outcomes = await client.stop();
}, 30_000);

afterAll(async () => {
  await stack?.close();
  await Promise.all([...(good ?? []), wrong].filter(Boolean).map((s) => s.close()));
});

/** Wall-clock time of the backend's first transition to READY, from the state-change log. */
function readyAt(s: RecordingModelServer): number | undefined {
  const id = backendByUrl(stack, s.url).id;
  const line = stack.logs.find((l) => l.msg === 'backend state changed' && l.backend === id && l.to === 'READY');
  return typeof line?.time === 'string' ? Date.parse(line.time) : undefined;
}

describe('scale-up from cold under steady traffic', () => {
  test('the client sees zero errors, every answer from the expected model version', () => {
    expect(outcomes.length).toBeGreaterThanOrEqual(SEND_FOR_MS / SEND_EVERY_MS - 10);
    const errors = client.errors();
    expect(errors, describeErrors(errors)).toEqual([]);
    expect(outcomes.every((o) => o.version === '2')).toBe(true);
  });

  test('each good backend takes user traffic only after it became READY and after its warm-up', () => {
    for (const s of good) {
      const users = s.userRequests();
      // Every good backend loaded within the run, so scale-up really spread the load.
      expect(users.length).toBeGreaterThan(0);
      const ready = readyAt(s);
      expect(ready).toBeDefined();
      const firstUser = users[0]!.at;
      expect(firstUser).toBeGreaterThanOrEqual(ready!);
      const warmups = s.warmups();
      expect(warmups.length).toBeGreaterThanOrEqual(2);
      expect(warmups.every((w) => w.status === 200)).toBe(true);
      expect(firstUser).toBeGreaterThanOrEqual(warmups.at(-1)!.at);
      // Seen from inside infergate: READY at the moment each user request arrived.
      expect(new Set(stateAtArrival.get(s))).toEqual(new Set(['READY']));
      // No user request ever met a loading model.
      expect(users.every((u) => u.status === 200)).toBe(true);
    }
  });

  test('backends become READY in load order, not before their model loaded', () => {
    const times = good.map((s) => readyAt(s)!);
    expect(times[0]!).toBeLessThan(times[1]!);
    expect(times[1]!).toBeLessThan(times[2]!);
    const start = Math.min(...outcomes.map((o) => o.sentAt));
    // 2 s and 4 s loads: never READY before the model had loaded (a little slack for the start-up order).
    expect(times[1]! - start).toBeGreaterThanOrEqual(2000 - 200);
    expect(times[2]! - start).toBeGreaterThanOrEqual(4000 - 200);
  });

  test('requests sent at t=0, before any backend was READY, waited in the queue and succeeded', async () => {
    const first = outcomes.reduce((a, b) => (a.sentAt <= b.sentAt ? a : b));
    expect(first.status).toBe(200);
    expect(first.sentAt).toBeLessThanOrEqual(readyAt(good[0]!)!);
    expect(await metric(stack, 'infergate_queue_wait_seconds_count', { pool: 'p' })).toBeGreaterThan(0);
  });

  test('the wrong-version backend stays MISMATCH and receives no user request (nor warm-up)', () => {
    expect(backendByUrl(stack, wrong.url).state()).toBe('MISMATCH');
    expect(readyAt(wrong), 'the wrong-version backend was READY at some point').toBeUndefined();
    expect(wrong.userRequests()).toEqual([]);
    expect(wrong.warmups()).toEqual([]);
    // Admission kept reading its metadata: the verdict is current, not a one-off.
    expect(wrong.seen.filter((s) => s.kind === 'metadata').length).toBeGreaterThan(1);
  });
});

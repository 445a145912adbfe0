// A backend that is not READY never receives a user request, however the balancer turns.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { backendByUrl, onePool, request, waitAllReady, within } from './support.js';

let ready: TestBackend;
let loading: TestBackend;
let stack: Stack;

beforeAll(async () => {
  ready = await startBackend();
  loading = await startBackend();
  loading.setHealth(503); // model still loading: its port is open, its readiness fails
  stack = await startStack(onePool([loading.url, ready.url]));
  // Its first probe must have run (and failed), so the test is about a checked backend, not an unchecked one.
  const probed = backendByUrl(stack, loading.url);
  for (let i = 0; probed.lastProbe === null; i++) {
    if (i === 100) throw new Error('the loading backend was never probed');
    await fetch(`${stack.adminUrl}/healthz`); // one round trip through the event loop per look
  }
  expect(probed.lastProbe).toMatchObject({ ok: false, status: 503 });
});
afterAll(async () => {
  await stack.close();
  await Promise.all([ready.close(), loading.close()]);
});

test('every request goes to the READY backend; the loading one sees only probes', async () => {
  expect(backendByUrl(stack, loading.url).state()).toBe('LOADING');
  const replies = await Promise.all(Array.from({ length: 10 }, () => request(`${stack.url}/x`)));
  expect(replies.map((r) => r.status)).toEqual(Array(10).fill(200));
  expect(loading.requests).toEqual([]);
  expect(ready.requests.length).toBe(10);
});

test('a READY backend whose readiness starts failing stops getting requests once it turns UNREADY', async () => {
  const a = await startBackend();
  const b = await startBackend();
  const clock = new ManualClock();
  const s = await startStack(`
pools:
  q:
    balance: round-robin
    health: { jitter: 0, readiness: { path: /health, interval: 5s, unhealthyThreshold: 1, healthyThreshold: 1 } }
    backends: [${a.url}, ${b.url}]
`, { deps: { clock } });
  try {
    await waitAllReady(s);
    await clock.waitFor(5_000, 2); // both first verdicts in, the next round armed
    b.setHealth(503);
    const unready = within(s.waitForLog((l) => l.msg === 'backend state changed' && l.backend === backendByUrl(s, b.url).id && l.to === 'UNREADY'), 3000, 'b to turn UNREADY');
    // Until its next probe b is still READY and still served: the balancer does not guess.
    for (let i = 0; i < 2; i++) expect((await request(`${s.url}/x`)).status).toBe(200);
    expect(b.requests).toHaveLength(1);
    clock.advance(5_000);
    await unready;
    const before = b.requests.length;
    for (let i = 0; i < 6; i++) expect((await request(`${s.url}/x`)).status).toBe(200);
    expect(b.requests.length).toBe(before);
    expect(a.requests).toHaveLength(7);
  } finally {
    await s.close();
    await Promise.all([a.close(), b.close()]);
  }
});

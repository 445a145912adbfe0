// A request still waiting for an upstream connection when its total timeout fires is answered 504 and never sent later.
// It waits in the pool's queue (in-flight per backend never passes upstream.connections), not inside undici.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { accessLine, backends, json, metric, onePool, request } from './support.js';

let backend: TestBackend;
let stack: Stack;
let firstArrived!: () => void;
let queued = 0;
const first = new Promise<void>((resolve) => (firstArrived = resolve));
// The total timeouts fire when the test says so: both in one advance(), so the first one's freed connection
// cannot carry the queued second before its own timeout (a race on a busy machine with the real clock).
const clock = new ManualClock();

beforeAll(async () => {
  backend = await startBackend(() => firstArrived()); // holds every request
  // One upstream connection: the second request waits in the pool's queue behind the first.
  stack = await startStack(onePool([backend.url], '    upstream: { connections: 1 }\n    timeouts: { total: 300ms, firstByte: 30s }'), { deps: { clock } });
});
afterAll(async () => {
  await stack.close();
  await backend.close();
});

/** Bounded wait on a condition, one admin round trip per look. */
async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; !cond(); i++) {
    if (i === 200) throw new Error(`still waiting for ${what}`);
    await fetch(`${stack.adminUrl}/healthz`);
    queued = await metric(stack, 'infergate_queue_length', { pool: 'p' });
  }
}

test('both time out with 504; the queued one is dropped, not sent, and the slot returns', async () => {
  const b = backends(stack)[0]!;
  const pendingFirst = request(`${stack.url}/first`, { headers: { 'x-request-id': 'q-1' } });
  await first;
  const pendingSecond = request(`${stack.url}/second`, { headers: { 'x-request-id': 'q-2' } });
  await until('the second request to wait in the pool queue', () => queued === 1);
  expect(b.inflight).toBe(1);
  clock.advance(300);
  const [answerFirst, second] = await Promise.all([pendingFirst, pendingSecond]);
  expect([answerFirst.status, second.status]).toEqual([504, 504]);
  expect(json(second)).toMatchObject({ error: 'total-timeout', requestId: 'q-2' });
  expect(await accessLine(stack, 'q-2')).toMatchObject({ status: 504, error: 'total-timeout' });
  // The queued request is released when undici hands it a connection; look (bounded) until then.
  await until('in-flight back to 0', () => b.inflight === 0);
  // One more round trip to the backend: anything undici was about to write would have arrived by now.
  await fetch(`${backend.url}/health`);
  expect(backend.requests.map((r) => r.url)).toEqual(['/first']);
});

// Waiting for a backend connection happens in infergate's own queue, never inside undici: in flight per backend never
// passes upstream.connections, the rest wait in the pool queue (length gauge, wait histogram) and get 503
// queue-timeout after queue.timeout. ManualClock for the queue timeout; real sockets.
import type { ServerResponse } from 'node:http';
import { afterEach, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { until } from './slow-upload.js';
import { accessLine, backends, json, metric, onePool, request, type Reply } from './support.js';

let open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.map((x) => x.close()));
  open = [];
});

/** A backend that holds every request until release(); counts the connections it was opened. */
async function holdingBackend(): Promise<{ backend: TestBackend; held: ServerResponse[]; connections: () => number; release(): void }> {
  const held: ServerResponse[] = [];
  const backend = await startBackend((_req, res) => held.push(res));
  let connections = 0;
  backend.server.on('connection', () => connections++);
  return { backend, held, connections: () => connections, release: () => held.splice(0).forEach((r) => r.end('done')) };
}

async function boot(backend: TestBackend, extra: string): Promise<{ stack: Stack; clock: ManualClock }> {
  const clock = new ManualClock();
  const stack = await startStack(onePool([backend.url], extra), { deps: { clock } });
  open.push(stack, backend);
  return { stack, clock };
}

const queued = (stack: Stack): Promise<number> => metric(stack, 'infergate_queue_length', { pool: 'p' });

test('connections: 2 — a third request waits in the pool queue, and gets 503 queue-timeout after queue.timeout', async () => {
  const h = await holdingBackend();
  const { stack, clock } = await boot(h.backend, '    upstream: { connections: 2 }\n    queue: { timeout: 1s }');
  const b = backends(stack)[0]!;
  const connectionsBefore = h.connections();
  const replies: Array<Promise<Reply>> = [1, 2, 3].map((i) => request(`${stack.url}/v1/${i}`, { headers: { 'x-request-id': `wait-${i}` } }));
  await until('two held by the backend and one queued', async () => h.held.length === 2 && (await queued(stack)) === 1);
  expect(b.inflight).toBe(2);
  expect(h.connections() - connectionsBefore).toBe(2);
  clock.advance(1000);
  const third = await replies[2]!;
  expect(third.status).toBe(503);
  expect(third.headers['retry-after']).toBe('1');
  expect(json(third)).toMatchObject({ error: 'queue-timeout', requestId: 'wait-3' });
  expect(await accessLine(stack, 'wait-3')).toMatchObject({ status: 503, error: 'queue-timeout', attempts: 0 });
  expect(await metric(stack, 'infergate_errors_total', { pool: 'p', kind: 'queue-timeout' })).toBe(1);
  expect(await metric(stack, 'infergate_queue_wait_seconds_count', { pool: 'p' })).toBe(1);
  expect(await metric(stack, 'infergate_queue_wait_seconds_sum', { pool: 'p' })).toBe(1);
  expect(await queued(stack)).toBe(0);
  // The backend never saw the third request; the two held ones finish normally.
  h.release();
  expect((await Promise.all(replies.slice(0, 2))).map((r) => r.status)).toEqual([200, 200]);
  expect(h.backend.requests.map((r) => r.url)).toEqual(['/v1/1', '/v1/2']);
});

test('a freed connection goes to the request waiting longest, before its timeout', async () => {
  const h = await holdingBackend();
  const { stack, clock } = await boot(h.backend, '    upstream: { connections: 1 }\n    queue: { timeout: 1s }');
  const first = request(`${stack.url}/v1/first`);
  await until('the first held', () => h.held.length === 1);
  const second = request(`${stack.url}/v1/second`);
  await until('the second queued', async () => (await queued(stack)) === 1);
  clock.advance(400);
  h.release();
  await until('the second at the backend', () => h.held.length === 1);
  clock.advance(1000);
  h.release();
  expect([(await first).status, (await second).status]).toEqual([200, 200]);
  expect(await metric(stack, 'infergate_errors_total', { pool: 'p', kind: 'queue-timeout' })).toBe(0);
  expect(await metric(stack, 'infergate_queue_wait_seconds_sum', { pool: 'p' })).toBeCloseTo(0.4, 5);
});

test('with the defaults (256 connections per backend), the 257th and 258th requests wait in the queue, not in undici', async () => {
  const h = await holdingBackend();
  const { stack } = await boot(h.backend, '');
  const b = backends(stack)[0]!;
  const replies = Array.from({ length: 258 }, (_, i) => request(`${stack.url}/v1/${i}`));
  await until('256 held and 2 queued', async () => h.held.length === 256 && (await queued(stack)) === 2, 1000);
  expect(b.inflight).toBe(256);
  expect([b.slots, b.maxConcurrent]).toEqual([256, 0]);
  h.release();
  await until('the two queued ones at the backend', () => h.held.length === 2, 1000);
  h.release();
  expect((await Promise.all(replies)).every((r) => r.status === 200)).toBe(true);
  expect(h.backend.requests).toHaveLength(258);
});

// Overload seen from clients: every server at its threshold (here infergate's in-flight fallback, overload.inflight: 1),
// a low-priority request gets 503 overloaded with Retry-After at once, another waits in the queue and is served when a
// server frees up; the access log says held / shed, the metrics count both and the wait.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHeldBackends, type HeldBackends } from '../helpers/held-backends.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { accessLine, metric, request, waitAllReady, within } from './support.js';

let held: HeldBackends;
let stack: Stack;
let release: Array<() => void>;

beforeAll(async () => {
  // Each server holds its answer until the test releases it.
  held = await startHeldBackends(2);
  release = held.release;
  stack = await startStack(held.config);
  await waitAllReady(stack);
});
afterAll(async () => {
  for (const r of release.splice(0)) r();
  await stack.close();
  await held.close();
});

async function until(cond: () => boolean, what: string): Promise<void> {
  await within((async () => { while (!cond()) await new Promise((r) => setTimeout(r, 5)); })(), 5000, what);
}

it('sheds low priority with 503 + Retry-After, holds the rest until a server frees up', async () => {
  const busy = [request(`${stack.url}/a`), request(`${stack.url}/b`)];
  await until(() => release.length === 2, 'both servers busy');
  const low = await request(`${stack.url}/low`, { headers: { 'x-infergate-priority': 'low', 'x-request-id': 'low' } });
  expect(low.status).toBe(503);
  expect(low.headers['retry-after']).toBe('1');
  expect(JSON.parse(low.body.toString())).toMatchObject({ error: 'overloaded' });
  expect((await accessLine(stack, 'low')).overload).toBe('shed');

  const high = request(`${stack.url}/high`, { headers: { 'x-infergate-priority': 'high', 'x-request-id': 'high' } });
  await within((async () => { while ((await metric(stack, 'infergate_overload_held_total', { pool: 'p' })) < 1) await new Promise((r) => setTimeout(r, 5)); })(), 5000, 'the request held');
  await new Promise((r) => setTimeout(r, 50));
  expect(release.length).toBe(2); // held: neither server was sent it
  release.shift()!();
  await until(() => release.length === 2, 'the held request reached the freed server');
  release.shift()!();
  release.shift()!();
  const [a, b, h] = await Promise.all([...busy, high]);
  expect([a.status, b.status, h.status]).toEqual([200, 200, 200]);
  expect(h.body.toString()).toBe('done /high');
  expect((await accessLine(stack, 'high')).overload).toBe('held');
  expect(await metric(stack, 'infergate_overload_shed_total', { pool: 'p', priority: 'low' })).toBe(1);
  expect(await metric(stack, 'infergate_overload_held_total', { pool: 'p' })).toBe(1);
  expect(await metric(stack, 'infergate_overload_wait_seconds_count', { pool: 'p' })).toBe(1);
  expect(await metric(stack, 'infergate_overload_wait_seconds_sum', { pool: 'p' })).toBeGreaterThanOrEqual(0.04);
});

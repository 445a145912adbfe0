// A configuration reload while requests wait (held for overload here; the same path serves requests waiting for a
// READY backend): they pick again in the new configuration — and wait in its queue if need be — instead of all getting
// 503 because the configuration changed.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { metric, request, waitAllReady, within } from '../e2e/support.js';
import { startHeldBackends, type HeldBackends } from '../helpers/held-backends.js';
import { startStack, type Stack } from '../helpers/stack.js';

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

it('a request held for overload survives a reload and is served by the new configuration', async () => {
  const busy = [request(`${stack.url}/a`), request(`${stack.url}/b`)];
  await within((async () => {
    while (release.length < 2) await new Promise((r) => setTimeout(r, 5));
  })(), 5000, 'both backends busy');
  const high = request(`${stack.url}/high`);
  await within((async () => {
    while ((await metric(stack, 'infergate_overload_held_total', { pool: 'p' })) < 1) await new Promise((r) => setTimeout(r, 5));
  })(), 5000, 'held');
  stack.app.reload(stack.app.config);
  // It is not answered 503: it picks again in the new configuration (whose in-flight counts start from the requests
  // it sends itself, so here it goes at once) and is served.
  await within((async () => {
    while (release.length < 3) await new Promise((r) => setTimeout(r, 5));
  })(), 5000, 'the held request reached a backend');
  for (const r of release.splice(0)) r();
  await Promise.all(busy);
  const answer = await high;
  expect(answer.status).toBe(200);
  expect(answer.body.toString()).toBe('done /high');
});

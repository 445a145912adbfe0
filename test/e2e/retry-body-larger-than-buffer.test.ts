// Only bodies up to retry.bufferBody are kept for replay: a larger (or unsized) body is never retried.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { accessLine, json, onePool, request, waitAllReady } from './support.js';

let dead: TestBackend;
let alive: TestBackend;
let stack: Stack;

beforeAll(async () => {
  dead = await startBackend();
  alive = await startBackend();
  // random() = 0 always picks the first eligible backend: the dead one.
  stack = await startStack(onePool([dead.url, alive.url], '    retry: { methods: [PUT], bufferBody: 1kb }').replace('round-robin', 'random'), { deps: { random: () => 0 } });
  await waitAllReady(stack);
  await dead.close();
});
afterAll(async () => {
  await stack.close();
  await alive.close();
});

test('a body within bufferBody is replayed on the other backend', async () => {
  const body = 'a'.repeat(1024);
  const reply = await request(`${stack.url}/small`, { method: 'PUT', body, headers: { 'x-request-id': 'buf-1' } });
  expect(reply.status).toBe(200);
  expect(await accessLine(stack, 'buf-1')).toMatchObject({ attempts: 2 });
  expect(alive.requests.at(-1)!.body.toString()).toBe(body);
});

test('a body larger than bufferBody streams through and is not retried', async () => {
  const before = alive.requests.length;
  const reply = await request(`${stack.url}/large`, { method: 'PUT', body: 'b'.repeat(1025), headers: { 'x-request-id': 'buf-2' } });
  expect(reply.status).toBe(502);
  expect(json(reply)).toMatchObject({ error: 'connect-refused' });
  expect(await accessLine(stack, 'buf-2')).toMatchObject({ attempts: 1 });
  expect(alive.requests.slice(before)).toEqual([]);
});

test('a chunked body of unknown size is not retried', async () => {
  const before = alive.requests.length;
  const reply = await request(`${stack.url}/chunked`, { method: 'PUT', body: 'c', headers: { 'x-request-id': 'buf-3', 'transfer-encoding': 'chunked' } });
  expect(reply.status).toBe(502);
  expect(await accessLine(stack, 'buf-3')).toMatchObject({ attempts: 1 });
  expect(alive.requests.slice(before)).toEqual([]);
});

// Bodies read whole before a backend is picked (requestBody.buffer, 1mb by default) are replayable; with that buffering
// off (buffer: 0), only bodies up to retry.bufferBody are kept for replay, and a larger (or unsized) one is never retried.
import { afterEach, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { accessLine, json, onePool, request, waitAllReady } from './support.js';

let open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.map((x) => x.close()));
  open = [];
});

/** A fresh stack whose first pick (random() = 0) is a backend that just went away: every test meets one refusal. */
async function deadFirst(requestBuffer = '0'): Promise<{ stack: Stack; alive: TestBackend }> {
  const dead = await startBackend();
  const alive = await startBackend();
  const stack = await startStack(onePool([dead.url, alive.url], `    retry: { methods: [PUT], bufferBody: 1kb }\n    requestBody: { buffer: ${requestBuffer} }`).replace('round-robin', 'random'), { deps: { random: () => 0 } });
  open.push(stack, alive);
  await waitAllReady(stack);
  await dead.close();
  return { stack, alive };
}

test('a body within bufferBody is replayed on the other backend', async () => {
  const { stack, alive } = await deadFirst();
  const body = 'a'.repeat(1024);
  const reply = await request(`${stack.url}/small`, { method: 'PUT', body, headers: { 'x-request-id': 'buf-1' } });
  expect(reply.status).toBe(200);
  expect(await accessLine(stack, 'buf-1')).toMatchObject({ attempts: 2 });
  expect(alive.requests.at(-1)!.body.toString()).toBe(body);
});

test('a body larger than bufferBody streams through and is not retried', async () => {
  const { stack, alive } = await deadFirst();
  const reply = await request(`${stack.url}/large`, { method: 'PUT', body: 'b'.repeat(1025), headers: { 'x-request-id': 'buf-2' } });
  expect(reply.status).toBe(502);
  expect(json(reply)).toMatchObject({ error: 'connect-refused' });
  expect(await accessLine(stack, 'buf-2')).toMatchObject({ attempts: 1 });
  expect(alive.requests).toEqual([]);
});

test('a chunked body is read ahead up to the same limit: a small one is replayed, a larger one streams and is not retried', async () => {
  const { stack, alive } = await deadFirst();
  const small = await request(`${stack.url}/chunked`, { method: 'PUT', body: 'c', headers: { 'x-request-id': 'buf-3', 'transfer-encoding': 'chunked' } });
  expect(small.status).toBe(200);
  expect(await accessLine(stack, 'buf-3')).toMatchObject({ attempts: 2 });
  expect(alive.requests.at(-1)!.body.toString()).toBe('c');
  const again = await deadFirst();
  const large = await request(`${again.stack.url}/chunked`, { method: 'PUT', body: 'd'.repeat(2000), headers: { 'x-request-id': 'buf-5', 'transfer-encoding': 'chunked' } });
  expect(large.status).toBe(502);
  expect(await accessLine(again.stack, 'buf-5')).toMatchObject({ attempts: 1 });
  expect(again.alive.requests).toEqual([]);
});

test('with the default request buffering, a body larger than retry.bufferBody is read whole and replayed', async () => {
  const { stack, alive } = await deadFirst('1mb');
  const body = 'c'.repeat(100_000);
  const reply = await request(`${stack.url}/large`, { method: 'PUT', body, headers: { 'x-request-id': 'buf-4' } });
  expect(reply.status).toBe(200);
  expect(await accessLine(stack, 'buf-4')).toMatchObject({ attempts: 2 });
  expect(alive.requests.at(-1)!.body.length).toBe(body.length);
});

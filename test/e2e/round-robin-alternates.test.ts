// round-robin over two READY backends alternates request by request, as a client sees it.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { onePool, request, waitAllReady } from './support.js';

let a: TestBackend;
let b: TestBackend;
let stack: Stack;

beforeAll(async () => {
  a = await startBackend((_req, res) => res.end('a'));
  b = await startBackend((_req, res) => res.end('b'));
  stack = await startStack(onePool([a.url, b.url]));
  await waitAllReady(stack);
});
afterAll(async () => {
  await stack.close();
  await Promise.all([a.close(), b.close()]);
});

test('six sequential requests go a, b, a, b, a, b (or starting with b)', async () => {
  const served: string[] = [];
  for (let i = 0; i < 6; i++) served.push((await request(`${stack.url}/x`)).body.toString());
  const first = served[0]!;
  const second = first === 'a' ? 'b' : 'a';
  expect(served).toEqual([first, second, first, second, first, second]);
  expect([a.requests.length, b.requests.length]).toEqual([3, 3]);
});

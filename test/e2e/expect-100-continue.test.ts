// A client sending Expect: 100-continue (curl does above 1 MB) gets 100 from the proxy, and the backend gets a plain request.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { sendRaw } from '../helpers/raw-http.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { backends, metric, onePool } from './support.js';

let backend: TestBackend;
let stack: Stack;

beforeAll(async () => {
  backend = await startBackend();
  stack = await startStack(onePool([backend.url]));
});
afterAll(async () => {
  await stack.close();
  await backend.close();
});

test('100 Continue comes from the proxy; Expect is not sent upstream (undici refuses it) and the body arrives', async () => {
  const reply = await sendRaw(
    stack.port,
    'POST /expect HTTP/1.1\r\nHost: front.example\r\nConnection: close\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello',
  );
  expect(reply.responses.map((r) => r.status)).toEqual([100, 200]);
  const seen = backend.requests.at(-1)!;
  expect(seen.url).toBe('/expect');
  expect(seen.body.toString()).toBe('hello');
  expect(seen.headers.expect).toBeUndefined();
  expect(backends(stack)[0]!.errors).toBe(0);
  expect(await metric(stack, 'infergate_errors_total', { pool: 'p', kind: 'upstream-error' })).toBe(0);
});

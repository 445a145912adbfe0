// A request still queued for an upstream connection when its total timeout fires is answered 504 and never sent later.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { accessLine, backends, json, onePool, request } from './support.js';

let backend: TestBackend;
let stack: Stack;

beforeAll(async () => {
  backend = await startBackend(() => {}); // holds every request
  // One upstream connection: the second request waits in undici's queue behind the first.
  stack = await startStack(onePool([backend.url], '    upstream: { connections: 1 }\n    timeouts: { total: 300ms, firstByte: 30s }'));
});
afterAll(async () => {
  await stack.close();
  await backend.close();
});

test('both time out with 504; the queued one is dropped, not sent, and the slot returns', async () => {
  const [first, second] = await Promise.all([
    request(`${stack.url}/first`, { headers: { 'x-request-id': 'q-1' } }),
    request(`${stack.url}/second`, { headers: { 'x-request-id': 'q-2' } }),
  ]);
  expect([first.status, second.status]).toEqual([504, 504]);
  expect(json(second)).toMatchObject({ error: 'total-timeout', requestId: 'q-2' });
  expect(await accessLine(stack, 'q-2')).toMatchObject({ status: 504, error: 'total-timeout' });
  // The queued request is released when undici hands it a connection; look (bounded) until then.
  const b = backends(stack)[0]!;
  for (let i = 0; b.inflight !== 0; i++) {
    if (i === 200) throw new Error(`inflight stuck at ${b.inflight}`);
    await fetch(`${stack.adminUrl}/healthz`);
  }
  // One more round trip to the backend: anything undici was about to write would have arrived by now.
  await fetch(`${backend.url}/health`);
  expect(backend.requests.map((r) => r.url)).toEqual(['/first']);
});

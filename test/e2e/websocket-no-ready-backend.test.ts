// An upgrade to a pool with no READY backend is refused with 503, Retry-After and the request id, and counted.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { sendRaw } from '../helpers/raw-http.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { metric, onePool } from './support.js';

let backend: TestBackend;
let stack: Stack;

beforeAll(async () => {
  backend = await startBackend();
  backend.setHealth(503);
  stack = await startStack(onePool([backend.url]), { waitReady: false });
});
afterAll(async () => {
  await stack.close();
  await backend.close();
});

test('503 JSON with Retry-After and x-request-id; the backend never sees the upgrade', async () => {
  const reply = await sendRaw(
    stack.port,
    'GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nX-Request-Id: ws-none\r\n\r\n',
  );
  expect(reply.status).toBe(503);
  const res = reply.responses[0]!;
  expect(Object.fromEntries(res.headers)).toMatchObject({ 'retry-after': '1', 'x-request-id': 'ws-none' });
  expect(JSON.parse(res.body)).toMatchObject({ error: 'no-ready-backend', requestId: 'ws-none' });
  expect(await metric(stack, 'infergate_websocket_upgrades_total', { pool: 'p', result: 'no-ready-backend' })).toBe(1);
  expect(await metric(stack, 'infergate_websocket_connections')).toBe(0);
});

// Hop-by-hop response headers from the backend (Connection and what it names, Keep-Alive, Proxy-*, Trailer, Upgrade, Transfer-Encoding) never reach the client.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startRawBackend, type RawBackend } from '../helpers/raw-http.js';
import { sendRaw } from '../helpers/raw-http.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { onePool } from './support.js';

let backend: RawBackend;
let stack: Stack;

const HEALTH = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok';
const HOPPY =
  'HTTP/1.1 200 OK\r\n' +
  'Content-Type: text/plain\r\n' +
  'Connection: close, X-Backend-Hop\r\n' +
  'X-Backend-Hop: internal\r\n' +
  'Keep-Alive: timeout=999, max=7\r\n' +
  'Proxy-Authenticate: Basic realm="inner"\r\n' +
  'Proxy-Whatever: x\r\n' +
  'Trailer: X-Checksum\r\n' +
  'Upgrade: h2c\r\n' +
  'X-End-To-End: kept\r\n' +
  'Transfer-Encoding: chunked\r\n' +
  '\r\n' +
  '5\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: abc\r\n\r\n';

beforeAll(async () => {
  backend = await startRawBackend((head) => ({ bytes: head.startsWith('GET /health ') ? HEALTH : HOPPY }));
  stack = await startStack(onePool([backend.url]));
});
afterAll(async () => {
  await stack.close();
  await backend.close();
});

test('the client gets the body and the end-to-end headers, none of the backend hop-by-hop ones', async () => {
  const reply = await sendRaw(stack.port, 'GET /r HTTP/1.1\r\nHost: front.example\r\nConnection: close\r\n\r\n');
  expect(reply.responses.length).toBe(1);
  const res = reply.responses[0]!;
  expect(res.status).toBe(200);
  expect(res.body).toBe('hello world');
  const header = (name: string): string[] => res.headers.filter(([n]) => n === name).map(([, v]) => v);
  expect(header('x-end-to-end')).toEqual(['kept']);
  for (const hop of ['x-backend-hop', 'proxy-authenticate', 'proxy-whatever', 'trailer', 'upgrade']) expect(header(hop), hop).toEqual([]);
  // The proxy's own framing and connection headers, never the backend's values.
  expect(header('keep-alive')).not.toContain('timeout=999, max=7');
  expect(header('connection').join(',')).not.toMatch(/x-backend-hop/i);
  expect(header('transfer-encoding').length).toBeLessThanOrEqual(1);
  expect(header('x-request-id').length).toBe(1);
});

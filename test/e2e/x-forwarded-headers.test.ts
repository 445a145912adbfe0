// X-Forwarded-For is appended to (never replaced), X-Forwarded-Proto and X-Forwarded-Host are set by the proxy.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { sendRaw } from '../helpers/raw-http.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { onePool, request } from './support.js';

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

test('without X-Forwarded-For the client address becomes it; proto and host are set', async () => {
  await request(`${stack.url}/a`, { headers: { host: 'api.example.com:8443' } });
  const seen = backend.requests.at(-1)!;
  expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
  expect(seen.headers['x-forwarded-proto']).toBe('http');
  expect(seen.headers['x-forwarded-host']).toBe('api.example.com:8443');
});

test('an existing X-Forwarded-For (even split over two lines) gets the client address appended', async () => {
  const reply = await sendRaw(
    stack.port,
    'GET /b HTTP/1.1\r\nHost: api.example.com\r\nX-Forwarded-For: 203.0.113.7\r\nX-Forwarded-For: 198.51.100.1, 10.0.0.1\r\nConnection: close\r\n\r\n',
  );
  expect(reply.status).toBe(200);
  const seen = backend.requests.at(-1)!;
  expect(seen.rawHeaders.filter((n) => n.toLowerCase() === 'x-forwarded-for').length).toBe(1);
  expect(seen.headers['x-forwarded-for']).toBe('203.0.113.7, 198.51.100.1, 10.0.0.1, 127.0.0.1');
});

test('client-sent X-Forwarded-Proto and X-Forwarded-Host are replaced, not trusted', async () => {
  await request(`${stack.url}/c`, { headers: { host: 'real.example', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'spoofed.example' } });
  const seen = backend.requests.at(-1)!;
  expect(seen.headers['x-forwarded-proto']).toBe('http');
  expect(seen.headers['x-forwarded-host']).toBe('real.example');
  expect(seen.rawHeaders.filter((n) => n.toLowerCase() === 'x-forwarded-host').length).toBe(1);
});

test('no trusted proxies (the default): a client-sent X-Real-IP is replaced by the peer, a Forwarded header dropped', async () => {
  await request(`${stack.url}/d`, { headers: { 'x-real-ip': '6.6.6.6', forwarded: 'for=6.6.6.6', 'x-forwarded-for': '6.6.6.6' } });
  const seen = backend.requests.at(-1)!;
  expect(seen.headers['x-real-ip']).toBe('127.0.0.1');
  expect(seen.headers.forwarded).toBeUndefined();
  expect(seen.headers['x-forwarded-for']).toBe('6.6.6.6, 127.0.0.1');
});

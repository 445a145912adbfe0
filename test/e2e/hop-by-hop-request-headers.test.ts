// Hop-by-hop request headers (Connection and every header it names, Keep-Alive, Proxy-*, TE, Trailer, Transfer-Encoding, Upgrade) never reach the backend.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { sendRaw } from '../helpers/raw-http.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { onePool } from './support.js';

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

/** Header names the backend received, lower-cased, in order. */
function names(raw: string[]): string[] {
  return raw.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
}

test('a request loses every hop-by-hop header and keeps the end-to-end ones', async () => {
  const reply = await sendRaw(
    stack.port,
    'GET /hop HTTP/1.1\r\n' +
      'Host: front.example\r\n' +
      'Connection: close, X-Hop-Custom, x-other\r\n' +
      'X-Hop-Custom: secret\r\n' +
      'X-Other: 1\r\n' +
      'Keep-Alive: timeout=5\r\n' +
      'Proxy-Authorization: Basic Zm9vOmJhcg==\r\n' +
      'Proxy-Connection: keep-alive\r\n' +
      'Proxy-Anything: x\r\n' +
      'TE: trailers\r\n' +
      'Trailer: X-Trail\r\n' +
      'Upgrade: h2c\r\n' +
      'X-Keep: yes\r\n' +
      'Authorization: Bearer t\r\n' +
      '\r\n',
  );
  expect(reply.status).toBe(200);
  const seen = backend.requests.at(-1)!;
  const got = names(seen.rawHeaders);
  for (const hop of ['x-hop-custom', 'x-other', 'keep-alive', 'proxy-authorization', 'proxy-connection', 'proxy-anything', 'te', 'trailer', 'upgrade', 'transfer-encoding']) {
    expect(got, hop).not.toContain(hop);
  }
  // undici adds its own Connection header for its own connection; none of the client's tokens survive.
  expect(seen.headers.connection ?? '').not.toMatch(/hop|other|close/i);
  expect(seen.headers['x-keep']).toBe('yes');
  expect(seen.headers.authorization).toBe('Bearer t');
});

test('a chunked request body is re-framed by the proxy, not passed through with the client framing', async () => {
  const reply = await sendRaw(
    stack.port,
    'POST /chunked HTTP/1.1\r\nHost: front.example\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n',
  );
  expect(reply.status).toBe(200);
  const seen = backend.requests.at(-1)!;
  expect(seen.url).toBe('/chunked');
  expect(seen.body.toString()).toBe('hello world');
  // Exactly one framing header of the proxy's own (undici's choice: a length, or chunked), never the client's plus another.
  expect(names(seen.rawHeaders).filter((n) => n === 'transfer-encoding' || n === 'content-length')).toHaveLength(1);
});

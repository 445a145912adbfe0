// protocol: h2 — an HTTP/1.1 client request reaches an h2c backend (prior knowledge) or an h2-over-TLS one as HTTP/2,
// with the request's headers (minus the connection-specific ones HTTP/2 forbids) and body; an http1 pool never offers h2.
import http from 'node:http';
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import { makeBackendCerts, type BackendCerts } from '../helpers/backend-certs.js';
import { startProtocolBackend, type ProtocolBackend } from '../helpers/protocol-backend.js';
import { startStack, type Stack } from '../helpers/stack.js';

let certs: BackendCerts;
let backend: ProtocolBackend;
let stack: Stack;
beforeAll(async () => {
  certs = await makeBackendCerts();
});
afterAll(() => certs.remove());
afterEach(async () => {
  await stack?.close();
  await backend?.close();
});

const pool = (url: string, protocol: string, tls = ''): string => `
pools:
  p:
    protocol: ${protocol}
    health: { readiness: { path: /health, interval: 1h, healthyThreshold: 1 } }
    ${tls}
    backends: [${url}]
`;

/** An HTTP/1.1 request with keep-alive and chunked body: the headers an h2 upstream must not receive. */
function post(url: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { connection: 'keep-alive', 'keep-alive': 'timeout=5', 'content-type': 'text/plain', te: 'trailers', 'x-custom': 'kept' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    // Two writes without a length: chunked transfer-encoding on the client side.
    req.write(body.slice(0, 3));
    req.end(body.slice(3));
  });
}

test('h2c backend: prior-knowledge HTTP/2 to http://, probes included; connection-specific headers not sent', async () => {
  backend = await startProtocolBackend({ kind: 'h2c' });
  stack = await startStack(pool(backend.url, 'h2'));
  const r = await post(`${stack.url}/v2/models/m/infer`, 'hello h2c');
  expect(r.status).toBe(200);
  expect(JSON.parse(r.body)).toEqual({ httpVersion: '2.0', path: '/v2/models/m/infer', body: 'hello h2c' });
  const seen = backend.seen.at(-1)!;
  expect(seen.headers[':authority']).toBe(new URL(stack.url).host);
  expect(seen.headers['x-custom']).toBe('kept');
  expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
  for (const h of ['connection', 'keep-alive', 'transfer-encoding', 'upgrade']) expect(seen.headers[h], h).toBeUndefined();
  expect(backend.seen.map((s) => [s.path, s.httpVersion])).toEqual([['/health', '2.0'], ['/v2/models/m/infer', '2.0']]);
});

test('h2 over TLS: ALPN h2 with the pool\'s CA', async () => {
  backend = await startProtocolBackend({ kind: 'h2-tls', cert: certs.serverCert, key: certs.serverKey });
  stack = await startStack(pool(backend.url, 'h2', `tls: { ca: ${certs.files.ca} }`));
  const r = await post(`${stack.url}/x`, 'over tls');
  expect(JSON.parse(r.body)).toEqual({ httpVersion: '2.0', path: '/x', body: 'over tls' });
});

test('an http1 pool does not offer h2, even to a server that prefers it', async () => {
  backend = await startProtocolBackend({ kind: 'h2-tls', cert: certs.serverCert, key: certs.serverKey, allowHTTP1: true });
  stack = await startStack(pool(backend.url, 'http1', `tls: { ca: ${certs.files.ca} }`));
  const r = await post(`${stack.url}/x`, 'plain');
  expect(JSON.parse(r.body)).toEqual({ httpVersion: '1.1', path: '/x', body: 'plain' });
});

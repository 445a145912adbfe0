// TLS to https:// backends: the pool's CA, server name and client certificate (mTLS) are used by traffic and probes
// alike; a backend the CA did not sign, or a missing client certificate, never becomes READY.
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import { makeBackendCerts, type BackendCerts } from '../helpers/backend-certs.js';
import { startProtocolBackend, type ProtocolBackend } from '../helpers/protocol-backend.js';
import { writeFileSync } from 'node:fs';
import { parseConfig } from '../../src/config/load.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { backendOf, idOf, until, waitState } from '../readiness/support.js';
import { request } from './support.js';

let certs: BackendCerts;
let backend: ProtocolBackend;
let stack: Stack;
beforeAll(async () => {
  // The server certificate names model.internal only: reaching it at 127.0.0.1 needs servername.
  certs = await makeBackendCerts('model.internal', false);
});
afterAll(() => certs.remove());
afterEach(async () => {
  await stack?.close();
  await backend?.close();
});

const pool = (url: string, tls: string, protocol = 'http1'): string => `
pools:
  p:
    protocol: ${protocol}
    health: { readiness: { path: /health, interval: 1h, healthyThreshold: 1 } }
    tls: ${tls}
    backends: [${url}]
`;

/** The first probe's verdict (it runs at once on start). */
async function firstProbe(s: Stack, port: number): Promise<{ ok: boolean; error: string | null }> {
  const b = backendOf(s, idOf(port));
  await until(s, () => b.lastProbe !== null, 'the first probe');
  return b.lastProbe!;
}

test('https backend signed by the configured CA, reached by servername: probed READY and proxied', async () => {
  backend = await startProtocolBackend({ kind: 'h1-tls', cert: certs.serverCert, key: certs.serverKey });
  stack = await startStack(pool(backend.url, `{ ca: ${certs.files.ca}, servername: model.internal }`));
  const r = await request(`${stack.url}/v1/predict`, { method: 'POST', body: 'hello' });
  expect(r.status).toBe(200);
  expect(JSON.parse(r.body)).toEqual({ httpVersion: '1.1', path: '/v1/predict', body: 'hello' });
  expect(backend.seen.map((s) => s.path)).toEqual(['/health', '/v1/predict']);
});

test('without servername the certificate does not name 127.0.0.1: the probe fails on the name', async () => {
  backend = await startProtocolBackend({ kind: 'h1-tls', cert: certs.serverCert, key: certs.serverKey });
  stack = await startStack(pool(backend.url, `{ ca: ${certs.files.ca} }`), { waitReady: false });
  const p = await firstProbe(stack, backend.port);
  expect(p.ok).toBe(false);
  expect(p.error).toMatch(/ERR_TLS_CERT_ALTNAME_INVALID|altnames/);
  expect(backendOf(stack, idOf(backend.port)).state()).toBe('LOADING');
});

test('a backend whose certificate another CA signed is never trusted; verify: false accepts it', async () => {
  backend = await startProtocolBackend({ kind: 'h1-tls', cert: certs.serverCert, key: certs.serverKey });
  stack = await startStack(pool(backend.url, `{ ca: ${certs.files.otherCa}, servername: model.internal }`), { waitReady: false });
  const p = await firstProbe(stack, backend.port);
  expect(p.ok).toBe(false);
  expect(p.error).toMatch(/certificate/i);
  expect(backend.seen).toHaveLength(0);
  await stack.close();
  stack = await startStack(pool(backend.url, '{ verify: false }'));
  expect((await request(`${stack.url}/x`)).status).toBe(200);
});

test('mTLS: a backend that requires a client certificate gets the pool\'s; without one it is never READY', async () => {
  backend = await startProtocolBackend({ kind: 'h1-tls', cert: certs.serverCert, key: certs.serverKey, ca: certs.ca, requireClientCert: true });
  stack = await startStack(pool(backend.url, `{ ca: ${certs.files.ca}, servername: model.internal }`), { waitReady: false });
  expect((await firstProbe(stack, backend.port)).ok).toBe(false);
  expect(backend.seen).toHaveLength(0);
  await stack.close();
  stack = await startStack(pool(backend.url, `{ ca: ${certs.files.ca}, servername: model.internal, cert: ${certs.files.clientCert}, key: ${certs.files.clientKey} }`));
  const r = await request(`${stack.url}/v1/predict`, { method: 'POST', body: 'x' });
  expect(r.status).toBe(200);
  expect(backend.seen.map((s) => s.clientCN)).toEqual(['infergate', 'infergate']);
});

test('the CA file is read again on reload: a rotated CA that now signs the backend makes it READY', async () => {
  backend = await startProtocolBackend({ kind: 'h1-tls', cert: certs.serverCert, key: certs.serverKey });
  const caFile = `${certs.files.ca}.rotating`;
  writeFileSync(caFile, certs.otherCa);
  const yaml = `admin: { listen: 127.0.0.1:0 }\n${pool(backend.url, `{ ca: ${caFile}, servername: model.internal }`)}`;
  stack = await startStack(yaml, { waitReady: false });
  expect((await firstProbe(stack, backend.port)).ok).toBe(false);
  writeFileSync(caFile, certs.ca);
  const parsed = parseConfig(`listen: 127.0.0.1:0\n${yaml}`, 'test.yaml', {});
  if (!parsed.ok) throw new Error('config invalid');
  stack.app.reload(parsed.config);
  await waitState(stack, idOf(backend.port), 'READY');
  expect((await request(`${stack.url}/after-rotation`)).status).toBe(200);
});

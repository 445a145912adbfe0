// gRPC probes to an https:// backend use the pool's tls: CA, server name and the client certificate a server that
// requires mutual TLS asks for; without the client certificate the backend never becomes READY.
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import { FakeGrpcKServe } from '../fakes/grpc-kserve.js';
import { makeBackendCerts, type BackendCerts } from '../helpers/backend-certs.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { backendOf, idOf, until, view } from './support.js';

let certs: BackendCerts;
let f: FakeGrpcKServe;
let stack: Stack;
beforeAll(async () => {
  certs = await makeBackendCerts('model.internal', false);
});
afterAll(() => certs.remove());
afterEach(async () => {
  await stack.close();
  await f.close();
});

const pool = (url: string, tls: string): string => `
pools:
  p:
    protocol: h2
    tls: ${tls}
    health: { preset: triton, readiness: { interval: 1h }, liveness: false, model: { name: simple, version: "1" } }
    backends: [${url}]
`;

test('mTLS gRPC server: probes and admission over TLS with the pool\'s CA, servername and client certificate', async () => {
  f = await new FakeGrpcKServe({ tls: { cert: certs.serverCert, key: certs.serverKey, ca: certs.ca, requireClientCert: true } }).start();
  stack = await startStack(pool(f.url, `{ ca: ${certs.files.ca}, servername: model.internal, cert: ${certs.files.clientCert}, key: ${certs.files.clientKey} }`));
  expect((await view(stack, idOf(f.port))).admission).toMatchObject({ ok: true, found: { name: 'simple', version: '1' } });
  expect(f.calls.map((c) => c.method)).toEqual(['ServerLive', 'ModelReady', 'ModelMetadata']);
});

test('without the client certificate the handshake fails: never READY', async () => {
  f = await new FakeGrpcKServe({ tls: { cert: certs.serverCert, key: certs.serverKey, ca: certs.ca, requireClientCert: true } }).start();
  stack = await startStack(pool(f.url, `{ ca: ${certs.files.ca}, servername: model.internal }`), { waitReady: false });
  const b = backendOf(stack, idOf(f.port));
  await until(stack, () => b.lastProbe !== null, 'the first probe');
  expect(b.lastProbe).toMatchObject({ ok: false, role: 'startup' });
  expect(b.lastProbe!.error).toMatch(/^UNAVAILABLE: /);
  expect(b.state()).toBe('LOADING');
  expect(f.calls).toHaveLength(0);
});

// Pool keys protocol and tls: defaults, files read at load, and every mistake reported at its file:line:col.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBackendCerts, type BackendCerts } from '../helpers/backend-certs.js';
import { errors, ok, yaml } from './helpers.js';

let certs: BackendCerts;
beforeAll(async () => {
  certs = await makeBackendCerts();
});
afterAll(() => certs.remove());

describe('protocol and tls', () => {
  it('defaults: http1, no tls block', () => {
    const pool = ok(yaml('pools:', '  p:', '    backends: [http://127.0.0.1:9101]')).pools.get('p')!;
    expect(pool.protocol).toBe('http1');
    expect(pool.tls).toBeNull();
    expect(pool.health.grpcService).toBe('');
  });

  it('reads the PEM files at load time; verify defaults to true', () => {
    const pool = ok(yaml(
      'pools:',
      '  p:',
      '    protocol: h2',
      `    tls: { ca: ${certs.files.ca}, cert: ${certs.files.clientCert}, key: ${certs.files.clientKey}, servername: model.internal }`,
      '    backends: [https://127.0.0.1:9101]',
    )).pools.get('p')!;
    expect(pool.protocol).toBe('h2');
    expect(pool.tls).toMatchObject({ servername: 'model.internal', verify: true });
    expect(pool.tls!.ca!.toString()).toBe(certs.ca);
    expect(pool.tls!.cert!.toString()).toBe(certs.clientCert);
    expect(pool.tls!.key!.toString()).toBe(certs.clientKey);
  });

  it.each([
    ['a missing CA file', (c: BackendCerts) => `{ ca: ${c.files.ca}.nope }`, (c: BackendCerts) => `test.yaml:4:16: pools.p.tls.ca: file not found: ${c.files.ca}.nope`],
    ['a certificate without its key', (c: BackendCerts) => `{ cert: ${c.files.clientCert} }`, () => 'test.yaml:4:12: pools.p.tls.cert: a client certificate needs both cert and key'],
    ['a key that is not PEM', (c: BackendCerts) => `{ cert: ${c.files.clientCert}, key: ${c.files.ca} }`, () => /^test\.yaml:4:5: pools\.p\.tls: invalid TLS files: /],
    ['a bad protocol', () => '{}\n    protocol: h3', () => /^test\.yaml:5:15: pools\.p\.protocol: .*h2/],
  ])('%s', (_what, tls, expected) => {
    const lines = errors(yaml('pools:', '  p:', '    backends: [https://127.0.0.1:9101]', `    tls: ${tls(certs)}`));
    const want = expected(certs);
    expect(lines).toHaveLength(1);
    if (typeof want === 'string') expect(lines[0]).toBe(want);
    else expect(lines[0]).toMatch(want);
  });

  it('preset grpc needs protocol h2, and checks no model', () => {
    expect(errors(yaml('pools:', '  p:', '    health: { preset: grpc, model: { name: m } }', '    backends: [http://127.0.0.1:9101]'))).toEqual([
      'test.yaml:3:23: pools.p.health.preset: preset grpc probes over gRPC, which needs HTTP/2: set protocol: h2 on the pool',
      'test.yaml:3:29: pools.p.health.model: preset grpc (grpc.health.v1) reports a serving status, no model: use preset kserve-v2 or triton (gRPC ModelMetadata) to check the model',
    ]);
    expect(ok(yaml('pools:', '  p:', '    protocol: h2', '    health: { preset: grpc, grpcService: inference.GRPCInferenceService }', '    backends: [http://127.0.0.1:9101]')).pools.get('p')!.health.grpcService).toBe('inference.GRPCInferenceService');
  });
});

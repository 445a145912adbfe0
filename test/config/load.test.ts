// parseConfig on valid input: the full example's normalised values and the defaults of a minimal file.

import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { FAILURE_RATE_DEFAULTS, IMPLICIT_PROBES, OUTLIER_DEFAULTS, ROLLOUT_DEFAULTS } from '../../src/config/defaults.js';
import { ok, onePool, yaml } from './helpers.js';

describe('parseConfig defaults', () => {
  it('fills every default from a minimal file', () => {
    const c = ok(onePool);
    expect(c.source).toBe('test.yaml');
    expect(c.listeners).toEqual([{ host: '127.0.0.1', port: 8080, tls: null, http2: true, maxConnections: 'auto', maxConnectionsPerClient: 'auto' }]);
    expect(c.admin).toEqual({ listen: { host: '127.0.0.1', port: 9901 }, token: null });
    expect(c.server).toEqual({ h2MaxConcurrentStreams: 128, keepAliveTimeoutMs: 5000, headersTimeoutMs: 10000, requestTimeoutMs: 300000, maxHeaderBytes: 16384 });
    expect(c.shutdown).toEqual({ drainTimeoutMs: 30000, graceMs: 5000 });
    expect(c.log).toEqual({
      level: 'info',
      accessLog: { to: 'stdout', format: 'json' },
      redactQuery: ['token', 'api_key', 'apikey', 'access_token', 'signature', 'sig', 'key', 'password', 'secret', 'x-amz-signature', 'x-goog-signature'],
    });
    expect(c.trustedProxies).toEqual([]);
    const p = c.pools.get('p');
    expect(p).toBeDefined();
    expect(p?.balance).toBe('least-request');
    expect(p?.hostHeader).toBeNull();
    expect(p?.maxBodyBytes).toBe(0);
    expect(p?.timeouts).toEqual({ connectMs: 5000, firstByteMs: 300_000, idleMs: 60000, totalMs: 0 });
    expect(p?.requestBody).toEqual({ bufferBytes: 1024 * 1024, bufferTotalBytes: 128 * 1024 * 1024, idleMs: 10_000, minRateBytes: 1024 });
    expect(p?.upstream).toEqual({ connections: 256, keepAliveMs: 4000, pipelining: 1 });
    expect(p?.retry).toEqual({
      attempts: 2,
      methods: new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']),
      nonIdempotent: false,
      budgetPercent: 20,
      minRetryConcurrency: 3,
      bufferBodyBytes: 65536,
      onStatus: new Set([503]),
    });
    // Path, method and expectations are left to the preset (health/resolve.ts); only timing is defaulted here.
    expect(p?.health).toEqual({
      preset: 'http',
      jitter: 0.1,
      startup: null,
      readiness: { intervalMs: 1000, timeoutMs: 1000, healthyThreshold: 2, unhealthyThreshold: 3, headers: {} },
      liveness: null,
      startupTimeoutMs: 600_000,
      model: null,
      managementPort: 8081,
      grpcService: '',
    });
    expect([p?.protocol, p?.tls]).toEqual(['http1', null]);
    expect(p?.queue).toEqual({ max: 1000, timeoutMs: 10_000 });
    expect(p?.outlier).toEqual({
      consecutive5xx: 5,
      consecutiveGatewayErrors: 3,
      failureRate: null,
      baseEjectionTimeMs: 30_000,
      maxEjectionTimeMs: 300_000,
      maxEjectionPercent: 10,
      intervalMs: 10_000,
    });
    expect(p?.outlier).toEqual(OUTLIER_DEFAULTS);
    expect([p?.warmup, p?.slowStartMs, p?.sticky, p?.pin]).toEqual([null, 0, null, null]);
    expect([p?.maxConcurrent, p?.groups[0]?.backends[0]?.maxConcurrent]).toEqual([0, 0]);
  });

  it('fills the defaults of an empty failureRate and rollout block, as config/defaults.ts exports them', () => {
    const c = ok(yaml(
      'pools:',
      '  p:',
      '    outlier: { failureRate: {} }',
      '    groups:',
      '      stable: { backends: [http://127.0.0.1:9101] }',
      '      canary: { backends: [http://127.0.0.1:9102], rollout: {} }',
    ));
    const p = c.pools.get('p');
    expect(p?.outlier?.failureRate).toEqual({ threshold: 0.5, minRequests: 20, windowMs: 30_000 });
    expect(p?.outlier?.failureRate).toEqual(FAILURE_RATE_DEFAULTS);
    const rollout = p?.groups.find((g) => g.name === 'canary')?.rollout;
    expect(rollout).toEqual({
      steps: [10, 25, 50, 100],
      intervalMs: 60_000,
      minRequests: 50,
      maxErrorRate: 0.05,
      maxErrorRatio: 2,
      minErrorIncrease: 0.01,
      maxLatencyRatio: 1.25,
      minLatencyIncreaseMs: 5,
      latencyQuantile: 0.99,
      confidence: 0.99,
      failureThreshold: 2,
      start: 'auto',
    });
    expect(rollout).toEqual(ROLLOUT_DEFAULTS);
  });

  it('gives a startup or liveness probe the operator did not write the schema\'s timing for that role', () => {
    const c = ok(yaml('pools:', '  p:', '    health: { startup: {}, liveness: {} }', '    backends: [http://127.0.0.1:9101]'));
    const h = c.pools.get('p')?.health;
    expect(h?.startup).toEqual({ intervalMs: 1000, timeoutMs: 1000, healthyThreshold: 1, unhealthyThreshold: 1, headers: {} });
    expect(h?.liveness).toEqual({ intervalMs: 5000, timeoutMs: 2000, healthyThreshold: 1, unhealthyThreshold: 3, headers: {} });
    expect([h?.startup, h?.liveness]).toEqual([IMPLICIT_PROBES.startup, IMPLICIT_PROBES.liveness]);
  });

  it('turns direct backends into one group "default" with stable ids', () => {
    const c = ok(yaml('pools:', '  p:', '    backends: [http://127.0.0.1:9101, { url: "http://LOCALHOST", weight: 5 }, https://example.test]'));
    const groups = c.pools.get('p')?.groups ?? [];
    expect(groups.map((g) => [g.name, g.weight])).toEqual([['default', 100]]);
    const b = groups[0]?.backends ?? [];
    expect(b.map((x) => [x.id, x.origin, x.weight])).toEqual([
      ['p.default.127.0.0.1:9101', 'http://127.0.0.1:9101', 1],
      ['p.default.localhost:80', 'http://localhost', 5],
      ['p.default.example.test:443', 'https://example.test', 1],
    ]);
    expect(b[0]?.url).toBeInstanceOf(URL);
  });

  it('routes everything to the only pool when routes are omitted', () => {
    const c = ok(onePool);
    expect(c.routes).toEqual([{ name: '', pool: 'p', match: { pathPrefix: null, path: null, host: null, headers: [], methods: null } }]);
  });

  it('reads listen as host:port, :port, a bare port, or [v6]:port', () => {
    expect(ok(`listen: ":8081"\n${onePool}`).listeners[0]).toMatchObject({ host: '0.0.0.0', port: 8081 });
    expect(ok(`listen: 8082\n${onePool}`).listeners[0]).toMatchObject({ host: '0.0.0.0', port: 8082 });
    expect(ok(`listen: "[::1]:8083"\n${onePool}`).listeners[0]).toMatchObject({ host: '::1', port: 8083 });
    expect(ok(`listen: localhost:8084\n${onePool}`).listeners[0]).toMatchObject({ host: 'localhost', port: 8084 });
  });

  it('accepts a non-loopback admin listener when a token is set, and turns an empty token into null', () => {
    expect(ok(`admin: { listen: "0.0.0.0:9901", token: c2f6a1d09b7e4e55 }\n${onePool}`).admin.token).toBe('c2f6a1d09b7e4e55');
    expect(ok(`admin: { token: "" }\n${onePool}`).admin.token).toBeNull();
  });
});

describe('parseConfig on the full example', () => {
  const c = ok(readFileSync(new URL('../../config/infergate.yaml', import.meta.url), 'utf8'));

  it('keeps pools in file order', () => {
    expect([...c.pools.keys()]).toEqual(['llm', 'mlp']);
  });

  it('normalises routes', () => {
    expect(c.routes).toEqual([
      { name: 'route0', pool: 'mlp', match: { pathPrefix: '/predictions/', path: null, host: null, headers: [], methods: new Set(['POST']) } },
      { name: 'route1', pool: 'llm', match: { pathPrefix: null, path: '/v1/models', host: 'api.example.com', headers: [['x-model', 'llama']], methods: null } },
      { name: 'route2', pool: 'llm', match: { pathPrefix: null, path: null, host: null, headers: [], methods: null } },
    ]);
  });

  it('normalises groups, weights and probe settings', () => {
    const mlp = c.pools.get('mlp');
    expect(mlp?.balance).toBe('round-robin');
    expect(mlp?.hostHeader).toBe('models.internal');
    expect(mlp?.maxBodyBytes).toBe(1048576);
    expect(mlp?.groups.map((g) => [g.name, g.weight, g.backends.map((b) => b.id)])).toEqual([
      ['stable', 90, ['mlp.stable.127.0.0.1:9103', 'mlp.stable.127.0.0.1:9104']],
      ['canary', 10, ['mlp.canary.127.0.0.1:9105']],
    ]);
    expect(mlp?.health.preset).toBe('torchserve');
    // Path and status left to the preset (torchserve: /ping, 200 + "Healthy"); timing as written.
    expect(mlp?.health.readiness).toEqual({ intervalMs: 1000, timeoutMs: 500, healthyThreshold: 1, unhealthyThreshold: 2, headers: {} });
    expect(mlp?.health.model).toMatchObject({ name: 'mlp', version: '1', md5: '55e55e80cf35a77f076aa8dcc2e26e0c' });
    const llm = c.pools.get('llm');
    expect(llm?.groups[0]?.backends.map((b) => [b.id, b.weight])).toEqual([
      ['llm.default.127.0.0.1:9101', 1],
      ['llm.default.127.0.0.1:9102', 2],
    ]);
  });
});

describe('route normalisation', () => {
  it('lower-cases host (dropping its port) and header names, upper-cases methods', () => {
    const c = ok(yaml(
      'routes:',
      '  - match: { host: "API.Example.com:8443", headers: { X-Model: Llama }, methods: [get, Post] }',
      '    pool: p',
      onePool,
    ));
    expect(c.routes[0]?.match).toEqual({
      pathPrefix: null,
      path: null,
      host: 'api.example.com',
      headers: [['x-model', 'Llama']],
      methods: new Set(['GET', 'POST']),
    });
  });

  it('upper-cases retry methods', () => {
    const c = ok(yaml('pools:', '  p:', '    retry: { methods: [get, post] }', '    backends: [http://127.0.0.1:9101]'));
    expect(c.pools.get('p')?.retry.methods).toEqual(new Set(['GET', 'POST']));
  });
});

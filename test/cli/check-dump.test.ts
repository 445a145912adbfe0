// `infergate check --dump`: the effective configuration as YAML — defaults filled in, durations and sizes readable, secrets redacted.
import { parse } from 'yaml';
import { expect, test } from 'vitest';
import { tempConfig } from '../lifecycle/process.js';
import { cli } from './run.js';

/** The parts of the dump these tests read. */
interface Dumped {
  admin: { token: unknown };
  listeners: unknown[];
  server: Record<string, unknown>;
  shutdown: { drainTimeout: unknown };
  pools: Record<string, {
    balance: string;
    health: { readiness: { interval: unknown; headers: Record<string, unknown> } };
    queue: unknown;
    groups: Array<{ backends: unknown[] }>;
  }>;
}

test.concurrent('prints the effective configuration as YAML, with defaults, readable units and no secrets', async () => {
  const file = tempConfig(`
listen: 127.0.0.1:18080
admin: { listen: 127.0.0.1:19901, token: very-secret-token }
routes:
  - { match: { headers: { x-api-key: route-secret } }, pool: p }
pools:
  p:
    health: { readiness: { path: /health, interval: 1500ms, headers: { Authorization: "Bearer upstream-secret" } } }
    backends: [http://127.0.0.1:9101]
`);
  const r = await cli(['check', '--dump', '--config', file]);
  expect(r.code).toBe(0);
  expect(r.stderr).toBe('');
  expect(r.stdout).not.toContain('very-secret-token');
  expect(r.stdout).not.toContain('upstream-secret');
  expect(r.stdout).not.toContain('route-secret');
  const dumped = parse(r.stdout) as Dumped;
  expect(dumped.admin.token).toBe('<redacted>');
  expect(dumped.listeners[0]).toMatchObject({ host: '127.0.0.1', port: 18080, tls: null, http2: true });
  // Defaults filled in, durations and sizes as text.
  expect(dumped.server).toMatchObject({ keepAliveTimeout: '5s', maxHeaderSize: '16KB' });
  expect(dumped.shutdown.drainTimeout).toBe('30s');
  const pool = dumped.pools.p!;
  expect(pool.balance).toBe('least-request');
  expect(pool.health.readiness.interval).toBe('1500ms');
  expect(pool.health.readiness.headers.Authorization).toBe('<redacted>');
  expect(pool.queue).toEqual({ max: 1000, timeout: '10s' });
  expect(pool.groups[0]!.backends[0]).toMatchObject({ id: 'p.default.127.0.0.1:9101', weight: 1 });
});

test.concurrent('an invalid file: exit 1 with the errors, no dump', async () => {
  const file = tempConfig('pools:\n  p:\n    balance: sideways\n    backends: [http://127.0.0.1:9101]\n');
  const r = await cli(['check', '--dump', '--config', file]);
  expect(r.code).toBe(1);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(/sideways|balance/);
});

// app.reload(config) keeps backend health by id: a READY backend stays READY without waiting for a probe.
import { afterEach, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { sendRaw } from '../helpers/raw-http.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { startHealthBackend, type HealthBackend } from '../health/health-backend.js';
import { startHeldBackend, type HeldBackend } from './held-backend.js';

let stack: Stack;
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await stack.close();
  for (const c of closers.splice(0)) await c();
});

function config(yaml: string): Config {
  const r = parseConfig(`listen: 127.0.0.1:0\nadmin: { listen: 127.0.0.1:0 }\nlog: { level: info }\n${yaml}`, 'reload.yaml', {});
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}

test('READY stays READY across a reload while its probes hang; a new backend starts LOADING', async () => {
  const a: HealthBackend = await startHealthBackend();
  const b: HealthBackend = await startHealthBackend();
  closers.push(() => a.close(), () => b.close());
  const pool = (list: string) => `
pools:
  p:
    health: { jitter: 0, readiness: { path: /health, interval: 5s, timeout: 20s } }
    backends: [${list}]
`;
  const clock = new ManualClock();
  stack = await startStack(pool(a.url), { deps: { clock } });
  const idA = `p.default.127.0.0.1:${a.port}`;
  const idB = `p.default.127.0.0.1:${b.port}`;
  await clock.waitFor(5_000, 1); // a's first probe passed
  // From now on no probe of either backend can complete.
  a.hang();
  b.hang();
  stack.app.reload(config(pool(`${a.url}, ${b.url}`)));
  // The reload probes both at once, and both probes hang (no time passes: none can time out).
  await a.waitProbes(2);
  await b.waitProbes(1);
  expect(stack.app.backend(idA)!.state()).toBe('READY');
  expect(stack.app.backend(idB)!.state()).toBe('LOADING');
  for (let i = 0; i < 4; i++) expect(await (await fetch(`${stack.url}/x`)).text()).toBe('served');
  expect(a.userRequests).toBe(4);
  expect(b.userRequests).toBe(0);
  const admin = (await (await fetch(`${stack.adminUrl}/admin/backends`)).json()) as { backends: Array<{ id: string; state: string; requests: number }> };
  expect(admin.backends.map((x) => [x.id, x.state])).toEqual([
    [idA, 'READY'],
    [idB, 'LOADING'],
  ]);
  expect(stack.logs.filter((l) => l.msg === 'backend state changed')).toHaveLength(1);
  expect(stack.logs.some((l) => l.msg === 'configuration reloaded')).toBe(true);
  a.setHealth(200);
  b.setHealth(200);
});

test('a request in flight during a reload completes', async () => {
  const held: HeldBackend = await startHeldBackend();
  closers.push(() => held.close());
  const yaml = `
pools:
  p:
    health: { readiness: { path: /health, interval: 1s, timeout: 1s } }
    backends: [${held.backend.url}]
`;
  stack = await startStack(yaml);
  const reply = sendRaw(stack.port, 'GET /gen HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', { timeoutMs: 10_000 });
  const upstream = await held.arrived(1);
  stack.app.reload(config(yaml.replace('interval: 1s', 'interval: 2s')));
  upstream.end('data: 2\n\n');
  const r = await reply;
  expect(r.timedOut).toBe(false);
  expect(r.status).toBe(200);
  expect(r.responses[0]!.body).toBe('data: 1\n\ndata: 2\n\n');
  expect(stack.app.config.pools.get('p')!.health.readiness.intervalMs).toBe(2000);
});

// A backend receives no user request before its first passing readiness check: until then clients get 503.
import { afterEach, expect, test } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { startHealthBackend, type HealthBackend } from './health-backend.js';
import { ManualClock } from '../helpers/manual-clock.js';

let target: HealthBackend;
let stack: Stack;
afterEach(async () => {
  await stack.close();
  await target.close();
});

test('LOADING backend: 503 no-ready-backend and the backend sees nothing; READY after the first pass', async () => {
  target = await startHealthBackend({ status: 503 });
  const clock = new ManualClock();
  stack = await startStack(
    `
pools:
  p:
    queue: false   # answer 503 at once instead of waiting for a READY backend
    health: { jitter: 0, readiness: { path: /health, interval: 7s, timeout: 1s } }
    backends: [${target.url}]
`,
    { waitReady: false, deps: { clock } },
  );
  // The first probe (503) was processed: the prober scheduled the next one.
  await clock.waitFor(7_000, 1);
  const b = stack.app.backend(`p.default.127.0.0.1:${target.port}`)!;
  expect(b.state()).toBe('LOADING');
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`${stack.url}/predict`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(await res.json()).toMatchObject({ error: 'no-ready-backend' });
  }
  expect(target.userRequests).toBe(0);
  const ready = await fetch(`${stack.adminUrl}/readyz`);
  expect(ready.status).toBe(503);

  target.setHealth(200);
  clock.advance(7_000);
  await stack.waitForLog((l) => l.msg === 'backend state changed' && l.to === 'READY');
  const res = await fetch(`${stack.url}/predict`, { method: 'POST', body: '{}' });
  expect(res.status).toBe(200);
  expect(await res.text()).toBe('served');
  expect(target.userRequests).toBe(1);
});

test('a backend that is down altogether (connection refused) is never routed to', async () => {
  target = await startHealthBackend();
  const clock = new ManualClock();
  // Port 9 (discard) on loopback: nothing listens there.
  stack = await startStack(
    `
pools:
  p:
    queue: false   # answer 503 at once instead of waiting for a READY backend
    health: { jitter: 0, readiness: { path: /health, interval: 7s, timeout: 1s } }
    backends: [http://127.0.0.1:9]
`,
    { waitReady: false, deps: { clock } },
  );
  await clock.waitFor(7_000, 1);
  const b = stack.app.backend('p.default.127.0.0.1:9')!;
  expect(b.state()).toBe('LOADING');
  expect(b.lastProbe?.ok).toBe(false);
  expect(b.lastProbe?.error).toMatch(/ECONNREFUSED/);
  const res = await fetch(`${stack.url}/x`);
  expect(res.status).toBe(503);
  expect(await res.json()).toMatchObject({ error: 'no-ready-backend' });
});

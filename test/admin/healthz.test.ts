// /healthz says the balancer process is alive: 200 whatever the state of the backends.
import { afterEach, expect, test } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { ManualClock } from '../helpers/manual-clock.js';

let stack: Stack;
afterEach(async () => {
  await stack.close();
});

test('200 {"status":"ok"} even when no backend is ready', async () => {
  const clock = new ManualClock();
  // Port 9 on loopback: nothing listens, so the backend stays LOADING.
  stack = await startStack(
    `
pools:
  p:
    health: { readiness: { path: /health, interval: 10s, timeout: 1s } }
    backends: [http://127.0.0.1:9]
`,
    { waitReady: false, deps: { clock } },
  );
  await clock.waitFor((ms) => ms !== 1000, 1);
  const res = await fetch(`${stack.adminUrl}/healthz`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/json');
  expect(await res.json()).toEqual({ status: 'ok' });
  expect((await fetch(`${stack.adminUrl}/readyz`)).status).toBe(503);
  expect((await fetch(`${stack.adminUrl}/nope`)).status).toBe(404);
});

// An outlier ejection ends when the backend falls out (readiness fails: it restarted) and comes back through every
// check; a backend that never left service stays ejected for the whole ejection time.
import { afterEach, expect, test } from 'vitest';
import { ManualClock } from '../helpers/manual-clock.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { idOf, isUser, probeRound, request, startModel, waitChange, waitState, type Model } from './support.js';

let good: Model;
let bad: Model;
let stack: Stack;
afterEach(async () => {
  await stack.close();
  await Promise.all([good.close(), bad.close()]);
});

test('ejected for 1 h, restarted (UNREADY), READY again once its readiness passes — not EJECTED for the hour', async () => {
  good = await startModel({ '/health': 200 });
  bad = await startModel({ '/health': 200 });
  let failing = true;
  bad.handle((_req, res) => {
    res.writeHead(failing ? 500 : 200, { 'content-type': 'application/json' });
    res.end(failing ? '{"error":"boom"}' : '{"ok":true}');
  });
  const clock = new ManualClock();
  stack = await startStack(`
pools:
  p:
    balance: round-robin
    retry: { attempts: 1 }
    outlier: { consecutive5xx: 2, baseEjectionTime: 1h, maxEjectionPercent: 50 }
    health: { jitter: 0, readiness: { path: /health, interval: 7s, healthyThreshold: 1, unhealthyThreshold: 1 } }
    backends: [${good.url}, ${bad.url}]
`, { deps: { clock } });
  const id = idOf(bad.port);
  await clock.waitFor(7_000, 2); // both first probes done
  for (let i = 0; i < 4; i++) await request(`${stack.url}/x`);
  await waitState(stack, id, 'EJECTED');
  // Still passing its probe: the ejection holds.
  await probeRound(clock, 7_000, 2);
  expect(stack.app.backend(id)!.state()).toBe('EJECTED');
  for (let i = 0; i < 4; i++) expect((await request(`${stack.url}/y`)).status).toBe(200);
  expect(bad.requests.filter((s) => s.url === '/y')).toEqual([]);

  bad.setStatus('/health', 503); // the process restarts
  await probeRound(clock, 7_000, 2);
  await waitState(stack, id, 'UNREADY');
  failing = false;
  bad.setStatus('/health', 200);
  await probeRound(clock, 7_000, 2);
  await waitChange(stack, id, 'READY', 2);
  // 21 s into a 1 h ejection: back by re-entry, not by the ejection running out.
  expect(clock.now()).toBe(21_000);
  expect(stack.app.backend(id)!.state()).toBe('READY');
  for (let i = 0; i < 4; i++) expect((await request(`${stack.url}/z`)).status).toBe(200);
  expect(bad.requests.filter(isUser).filter((s) => s.url === '/z')).toHaveLength(2);
});

// Slow start: the ramp starts when the backend became READY (not at discovery, so a long load keeps its full
// ramp), effectiveWeight goes from 10% to full over the window, and each balancer's traffic share follows it.
import { afterEach, expect, test } from 'vitest';
import { ManualClock, seededRandom } from '../helpers/manual-clock.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { idOf, startModel, view, waitState, type Model } from './support.js';

let old: Model;
let fresh: Model;
let stack: Stack;
afterEach(async () => {
  await stack.close();
  await Promise.all([old.close(), fresh.close()]);
});

/** Share of `n` sequential requests that reached the new backend. */
async function shareOfFresh(n: number): Promise<number> {
  const before = fresh.user.length;
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${stack.url}/infer`);
    expect(res.status).toBe(200);
    await res.arrayBuffer();
  }
  return (fresh.user.length - before) / n;
}

// Expected shares of the fresh backend (weight 10 next to another of weight 10) at 10%, 50% and 100% of its ramp.
const RAMP = [
  { at: 0, weight: 1, share: 1 / 11 },
  { at: 5000, weight: 5, share: 5 / 15 },
  { at: 10_000, weight: 10, share: 1 / 2 },
];

test.each([
  // Smooth weighted round robin is exact over a whole number of cycles.
  { balance: 'round-robin', n: [110, 90, 60], exact: true },
  // Sequential requests have no load difference: least-request follows the weights (unequal: weighted; equal: P2C).
  { balance: 'least-request', n: [110, 90, 200], exact: false },
  // Seeded random source; the bound is 3 standard deviations of the binomial share.
  { balance: 'random', n: [400, 300, 300], exact: false },
])('$balance: a backend that loaded for 60 s still ramps 10% -> 100% over 10 s from READY', async ({ balance, n, exact }) => {
  const clock = new ManualClock();
  old = await startModel({ '/health': 200 });
  fresh = await startModel({ '/health': 503 });
  stack = await startStack(`
pools:
  p:
    balance: ${balance}
    slowStart: 10s
    health: { jitter: 0, readiness: { path: /health, interval: 20s, timeout: 500ms } }
    backends: [{ url: "${old.url}", weight: 10 }, { url: "${fresh.url}", weight: 10 }]
`, { waitReady: false, deps: { clock, random: seededRandom(7) } });
  const freshId = idOf(fresh.port);
  await waitState(stack, idOf(old.port), 'READY');
  await clock.waitFor(20_000, 2); // both first probes answered
  // The fresh backend loads for 60 s: far longer than the slow-start window.
  for (let i = 1; i <= 3; i++) {
    if (i === 3) fresh.setStatus('/health', 200);
    clock.advance(20_000);
    await clock.waitFor(20_000, 2 + 2 * i);
  }
  await waitState(stack, freshId, 'READY');
  expect(clock.now()).toBe(60_000);

  let elapsed = 0;
  for (const [i, step] of RAMP.entries()) {
    clock.advance(step.at - elapsed);
    elapsed = step.at;
    const v = await view(stack, freshId);
    expect(v.weight).toBe(10);
    expect(v.effectiveWeight).toBe(step.weight);
    expect((await view(stack, idOf(old.port))).effectiveWeight).toBe(10);
    const requests = n[i]!;
    const share = await shareOfFresh(requests);
    const tolerance = exact ? 1.5 / requests : 3 * Math.sqrt((step.share * (1 - step.share)) / requests);
    expect(Math.abs(share - step.share), `share ${share} at ${step.at} ms, expected ${step.share}`).toBeLessThanOrEqual(tolerance);
  }
});

test('effectiveWeight in /admin/backends follows the linear ramp, floored at 10%', async () => {
  const clock = new ManualClock();
  old = await startModel({ '/health': 200 });
  fresh = await startModel({ '/health': 200 });
  stack = await startStack(`
pools:
  p:
    slowStart: 10s
    health: { jitter: 0, readiness: { path: /health, interval: 1h } }
    backends: [{ url: "${fresh.url}", weight: 20 }, "${old.url}"]
`, { deps: { clock } });
  const id = idOf(fresh.port);
  await waitState(stack, id, 'READY');
  const seen: number[] = [];
  for (const step of [0, 500, 1000, 1500, 2500, 4400, 100, 5000]) {
    clock.advance(step);
    seen.push((await view(stack, id)).effectiveWeight);
  }
  // At 0, 0.5, 1.5, 3, 5.5, 9.9, 10 and 15 s after READY: the 10% floor holds until 1 s, then linear, then full.
  expect(seen).toEqual([2, 2, 3, 6, 11, 19.8, 20, 20]);
});

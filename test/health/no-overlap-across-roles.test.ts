// Probes of one backend never overlap across roles either: while a readiness probe hangs, a liveness probe that
// falls due waits for it (and the other way round), on the injected clock.
import { afterEach, expect, test } from 'vitest';
import { ManualClock } from '../helpers/manual-clock.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { startHealthBackend, type HealthBackend } from './health-backend.js';

let target: HealthBackend;
let stack: Stack;
afterEach(async () => {
  await stack.close();
  await target.close();
});

/** A few round trips through real sockets: time enough for a probe that was going to start to arrive. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await fetch(`${stack.adminUrl}/healthz`);
}

test('readiness and liveness probes of one backend take turns', async () => {
  target = await startHealthBackend();
  target.hang();
  const clock = new ManualClock();
  // Both roles probe the same path; timeouts (clock and undici) far beyond the test.
  stack = await startStack(
    `
pools:
  p:
    health:
      jitter: 0
      readiness: { path: /health, interval: 3s, timeout: 20s }
      liveness: { path: /health, interval: 2s, timeout: 20s }
    backends: [${target.url}]
`,
    { waitReady: false, deps: { clock } },
  );
  // Both first probes are due at once: one goes, the other waits while it hangs.
  await target.waitProbes(1);
  await settle();
  expect(target.probes).toBe(1);
  target.setHealth(200); // answers it; the waiting one goes and is answered too
  await clock.waitFor((ms) => ms === 2_000 || ms === 3_000, 2);
  expect(target.probes).toBe(2);

  for (let round = 1; round <= 3; round++) {
    target.hang();
    // Liveness falls due first (2 s after its last run) and hangs; readiness falls due 1 s later and must wait.
    clock.advance(3_000);
    await target.waitProbes(2 * round + 1);
    await settle();
    expect(target.probes).toBe(2 * round + 1);
    expect(target.inflightProbes).toBe(1);
    target.setHealth(200);
    await target.waitProbes(2 * round + 2);
    await clock.waitFor((ms) => ms === 2_000 || ms === 3_000, 2 * round + 2);
  }
  expect(target.maxInflightProbes).toBe(1);
  expect(target.probes).toBe(8);
});

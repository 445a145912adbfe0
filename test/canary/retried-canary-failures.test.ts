// A canary whose failures are retried onto stable must still count against the canary in the rollout's analysis.
// Regression: only the last attempt used to be recorded, so a canary that resets every connection (retried onto
// stable) showed 0 canary requests to the analysis and stayed `progressing` forever; every failed attempt counts now.
import { afterEach, expect, test } from 'vitest';
import { waitAllReady } from '../e2e/support.js';
import { ManualClock, seededRandom } from '../helpers/manual-clock.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { closeAll, HEALTH, namedBackend, ok, reset, rollout, until, type NamedBackend } from './support.js';

let stack: Stack | undefined;
let servers: NamedBackend[] = [];
afterEach(async () => {
  await closeAll(stack, servers);
  stack = undefined;
  servers = [];
});

test('a canary that resets every connection (clients see 200 via retries on stable) is rolled back', async () => {
  const clock = new ManualClock();
  const s1 = await namedBackend('s1', ok);
  const c1 = await namedBackend('c1', reset);
  servers = [s1, c1];
  stack = await startStack(
    `
pools:
  p:
    balance: round-robin
    health: ${HEALTH}
    outlier: false
    retry: { attempts: 3, methods: [GET] }
    groups:
      stable: { weight: 100, backends: [${s1.url}] }
      canary:
        weight: 0
        backends: [${c1.url}]
        rollout: { steps: [10, 25, 50, 100], interval: 30s, minRequests: 20 }
`,
    { deps: { clock, random: seededRandom(2) } },
  );
  await waitAllReady(stack);
  const answers = await until(stack, () => c1.count() >= 40);
  expect(answers.every((a) => a.status === 200)).toBe(true); // the retries hide it from clients
  clock.advance(30_000);
  const r = await rollout(stack);
  expect(r.lastCheck?.canary.requests).toBeGreaterThanOrEqual(20);
  expect(r.state).toBe('rolled-back');
});

// Probes of one backend never overlap across roles either: a slow endpoint probed for readiness and liveness
// never has two probes in flight at once.
import { afterEach, expect, test } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { startHealthBackend, type HealthBackend } from './health-backend.js';

let target: HealthBackend;
let stack: Stack;
afterEach(async () => {
  await stack.close();
  await target.close();
});

test('readiness and liveness probes of one backend take turns', async () => {
  target = await startHealthBackend();
  target.slow(40);
  stack = await startStack(
    `
pools:
  p:
    health:
      jitter: 0
      readiness: { path: /health, interval: 30ms, timeout: 1s }
      liveness: { path: /health, interval: 20ms, timeout: 1s }
    backends: [${target.url}]
`,
    { waitReady: false },
  );
  await target.waitProbes(30);
  expect(target.maxInflightProbes).toBe(1);
});

// Health checking on the real clock with short intervals: flips both ways, and slow probes never overlap.
import { afterEach, expect, test } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { startHealthBackend, type HealthBackend } from './health-backend.js';

let target: HealthBackend;
let stack: Stack;
afterEach(async () => {
  await stack.close();
  await target.close();
});

const change = (from: string, to: string) => (l: Record<string, unknown>) => l.msg === 'backend state changed' && l.from === from && l.to === to;

test('READY -> UNREADY -> READY with 10ms probes, traffic following the state', async () => {
  target = await startHealthBackend();
  stack = await startStack(`
pools:
  p:
    queue: false
    health: { readiness: { path: /health, interval: 10ms, timeout: 500ms, healthyThreshold: 2, unhealthyThreshold: 2 } }
    backends: [${target.url}]
`);
  expect((await fetch(`${stack.url}/a`)).status).toBe(200);
  target.setHealth(503);
  await stack.waitForLog(change('READY', 'UNREADY'));
  expect((await fetch(`${stack.url}/a`)).status).toBe(503);
  target.setHealth(200);
  await stack.waitForLog(change('UNREADY', 'READY'));
  expect((await fetch(`${stack.url}/a`)).status).toBe(200);
  expect(target.userRequests).toBe(2);
});

test('a /health slower than the interval never has two probes in flight', async () => {
  target = await startHealthBackend();
  // Every probe takes 40ms to answer, eight times the 5ms interval.
  target.slow(40);
  stack = await startStack(`
pools:
  p:
    health: { readiness: { path: /health, interval: 5ms, timeout: 2s } }
    backends: [${target.url}]
`);
  await target.waitProbes(6);
  expect(target.maxInflightProbes).toBe(1);
});

// infergate_request_duration_seconds carries the matched route's name (as written, else route<position>).
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { QUIET_HEALTH, request } from '../e2e/support.js';

let backend: TestBackend;
let stack: Stack;
beforeAll(async () => {
  backend = await startBackend();
  stack = await startStack(`
routes:
  - { name: predict, match: { pathPrefix: /v1/predict }, pool: p }
  - { match: {}, pool: p }
pools:
  p: { health: ${QUIET_HEALTH}, backends: [${backend.url}] }
`);
});
afterAll(async () => {
  await stack.close();
  await backend.close();
});

test('named and positional routes label the request duration', async () => {
  for (const path of ['/v1/predict', '/v1/predict', '/other']) expect((await request(`${stack.url}${path}`)).status).toBe(200);
  const text = await (await fetch(`${stack.adminUrl}/metrics`)).text();
  const count = (route: string): number => Number(new RegExp(`^infergate_request_duration_seconds_count\\{pool="p",group="default",route="${route}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? -1);
  expect(count('predict')).toBe(2);
  expect(count('route1')).toBe(1);
});

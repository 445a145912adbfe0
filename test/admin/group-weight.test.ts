// POST /admin/pools/{pool}/groups/{group}/weight {"weight": n}: a group's share at run time — refused (409) while a rollout sets it.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { startStack, type Stack } from '../helpers/stack.js';

let blue: TestBackend;
let green: TestBackend;
let stable: TestBackend;
let canary: TestBackend;
let stack: Stack;
const headers = { 'content-type': 'application/json' };

beforeAll(async () => {
  [blue, green, stable, canary] = await Promise.all([startBackend(), startBackend(), startBackend(), startBackend()]);
  stack = await startStack(`
routes:
  - { match: { pathPrefix: /bg/ }, pool: bg }
  - { match: { pathPrefix: /rc/ }, pool: rc }
pools:
  bg:
    health: { readiness: { path: /health, interval: 100ms, healthyThreshold: 1 } }
    groups:
      blue: { weight: 100, backends: [${blue.url}] }
      green: { weight: 0, backends: [${green.url}] }
  rc:
    health: { readiness: { path: /health, interval: 100ms, healthyThreshold: 1 } }
    groups:
      stable: { weight: 100, backends: [${stable.url}] }
      canary: { weight: 0, backends: [${canary.url}], rollout: { start: manual } }
`);
});
afterAll(async () => {
  await stack.close();
  await Promise.all([blue.close(), green.close(), stable.close(), canary.close()]);
});

function setWeight(pool: string, group: string, body: unknown): Promise<Response> {
  return fetch(`${stack.adminUrl}/admin/pools/${pool}/groups/${group}/weight`, { method: 'POST', headers, body: JSON.stringify(body) });
}

test('moves traffic between groups at run time (blue/green switch), until the next reload', async () => {
  expect((await setWeight('bg', 'green', { weight: 100 })).status).toBe(200);
  const res = await setWeight('bg', 'blue', { weight: 0 });
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ group: { pool: 'bg', group: 'blue', weight: 0 }, untilReload: true });
  const before = blue.requests.length;
  for (let i = 0; i < 5; i++) expect((await fetch(`${stack.url}/bg/x`)).status).toBe(200);
  expect(blue.requests.length).toBe(before);
  expect(green.requests.length).toBeGreaterThanOrEqual(5);
  await stack.waitForLog((l) => l.msg === 'group weight changed at run time (until the next reload)' && l.group === 'blue');

  stack.app.reload(stack.app.config);
  const bg = [...stack.app.pools()].find((p) => p.name === 'bg')!;
  expect(bg.groups.map((g) => [g.name, g.weight])).toEqual([['blue', 100], ['green', 0]]);
});

test.each(['canary', 'stable'])('409 for the %s group of a pool under an active rollout, pointing to /admin/rollouts', async (group) => {
  const res = await setWeight('rc', group, { weight: 50 });
  expect(res.status).toBe(409);
  const body = (await res.json()) as { error: string; message: string; rollout: { pool: string; group: string; state: string } };
  expect(body.error).toBe('rollout-owns-weight');
  expect(body.message).toContain('/admin/rollouts/rc/canary/weight');
  expect(body.rollout).toMatchObject({ pool: 'rc', group: 'canary', state: 'pending' });
  const rc = [...stack.app.pools()].find((p) => p.name === 'rc')!;
  expect(rc.group(group)!.weight).toBe(group === 'canary' ? 0 : 100);
});

test.each([
  ['nope', 'blue', 404, 'unknown-pool'],
  ['bg', 'nope', 404, 'unknown-group'],
])('%s/%s: %i %s', async (pool, group, status, code) => {
  const res = await setWeight(pool, group, { weight: 10 });
  expect(res.status).toBe(status);
  expect(await res.json()).toMatchObject({ error: code });
});

test('400 for a weight outside 0-100', async () => {
  expect((await setWeight('bg', 'blue', { weight: 101 })).status).toBe(400);
});

// With admin.token set, the write actions need the bearer token: 401 without it, and nothing changes.
import { afterEach, expect, test } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { adminAction, backendOf, idOf, startModel, type Model } from './support.js';

const TOKEN = 'push-t0ken';
let model: Model;
let stack: Stack;
afterEach(async () => {
  await stack.close();
  await model.close();
});

test.each(['ready', 'unready', 'drain', 'enable'] as const)('/%s: 401 without the token, 200 with it', async (action) => {
  model = await startModel({ '/health': 200 });
  stack = await startStack(`
admin: { listen: 127.0.0.1:0, token: ${TOKEN} }
pools:
  p:
    health: { readiness: { path: /health, interval: 1h } }
    backends: [${model.url}]
`);
  const id = idOf(model.port);
  for (const token of [undefined, 'wrong-t0ken']) {
    const res = await adminAction(stack, id, action, token);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: 'unauthorised' });
  }
  expect(backendOf(stack, id).state()).toBe('READY');
  expect((await adminAction(stack, id, action, TOKEN)).status).toBe(200);
  expect(backendOf(stack, id).state()).toBe(action === 'unready' ? 'UNREADY' : action === 'drain' ? 'DRAINING' : 'READY');
});

// POST /admin/backends/{id}/unready takes a READY backend out of rotation at once; a later push brings it back.
import { afterEach, expect, test } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { adminAction, idOf, isUser, json, request, startModel, view, waitState, type Model } from './support.js';

let model: Model;
let stack: Stack;
afterEach(async () => {
  await stack.close();
  await model.close();
});

test('READY -> UNREADY on the push, no request reaches it; READY again on /ready', async () => {
  model = await startModel({ '/health': 200 });
  stack = await startStack(`
pools:
  p:
    queue: false
    health: { jitter: 0, readiness: { path: /health, interval: 1h } }
    backends: [${model.url}]
`);
  const id = idOf(model.port);
  expect((await adminAction(stack, id, 'unready')).status).toBe(200);
  const v = await view(stack, id);
  expect(v.state).toBe('UNREADY');
  expect(v.stateReason).toBe('pushed unready by the backend');
  const reply = await request(`${stack.url}/x`);
  expect(reply.status).toBe(503);
  expect(json(reply)).toMatchObject({ error: 'no-ready-backend' });
  expect(model.requests.filter(isUser)).toEqual([]);

  expect((await adminAction(stack, id, 'ready')).status).toBe(200);
  await waitState(stack, id, 'READY');
  expect((await request(`${stack.url}/x`)).status).toBe(200);
  expect(model.requests.filter(isUser)).toHaveLength(1);
});

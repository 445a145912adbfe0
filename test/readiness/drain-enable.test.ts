// /drain: DRAINING takes no new request while its in-flight ones finish; /enable puts it back in rotation.
import { afterEach, expect, test } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { adminAction, backendOf, deferred, idOf, isUser, request, startModel, until, view, type Model } from './support.js';

let a: Model;
let b: Model;
let stack: Stack;
afterEach(async () => {
  await stack.close();
  await Promise.all([a.close(), b.close()]);
});

test('drain with a request in flight: it finishes with 200, new requests avoid the backend; enable restores it', async () => {
  a = await startModel({ '/health': 200 });
  b = await startModel({ '/health': 200 });
  const release = deferred();
  a.handle((req, res) => {
    const answer = (): void => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('from a');
    };
    if (req.url === '/slow') void release.promise.then(answer);
    else answer();
  });
  stack = await startStack(`
pools:
  p:
    balance: round-robin
    health: { readiness: { path: /health, interval: 1h } }
    backends: [${a.url}, ${b.url}]
`);
  const id = idOf(a.port);
  // Round robin: the first request goes to a, and a holds it.
  const inFlight = request(`${stack.url}/slow`);
  await a.waitFor((s) => s.url === '/slow');
  expect(backendOf(stack, id).inflight).toBe(1);

  const res = await adminAction(stack, id, 'drain');
  expect(res.status).toBe(200);
  expect(((await res.json()) as { backend: { state: string } }).backend.state).toBe('DRAINING');
  expect((await view(stack, id)).stateReason).toBe('drained by operator');
  for (let i = 0; i < 4; i++) expect((await request(`${stack.url}/new`)).status).toBe(200);
  expect(a.requests.filter(isUser).map((s) => s.url)).toEqual(['/slow']);
  expect(b.requests.filter(isUser)).toHaveLength(4);

  release.resolve();
  const done = await inFlight;
  expect(done.status).toBe(200);
  expect(done.body.toString()).toBe('from a');
  await until(stack, () => backendOf(stack, id).inflight === 0, 'the in-flight request to be accounted');
  expect(backendOf(stack, id).state()).toBe('DRAINING');

  expect((await adminAction(stack, id, 'enable')).status).toBe(200);
  expect((await view(stack, id)).state).toBe('READY');
  for (let i = 0; i < 4; i++) expect((await request(`${stack.url}/again`)).status).toBe(200);
  expect(a.requests.filter((s) => s.url === '/again')).toHaveLength(2);
});

// maxConcurrent: 1 per backend: a second concurrent request waits in the queue and is sent when the first finishes.
import { afterEach, expect, test } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { deferred, metric, request, startModel, until, type Model } from './support.js';

let model: Model;
let stack: Stack;
afterEach(async () => {
  await stack.close();
  await model.close();
});

test('the second request reaches the backend only after the first one finished', async () => {
  model = await startModel({ '/health': 200 });
  const release = deferred();
  model.handle((req, res) => {
    const answer = (): void => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(req.url);
    };
    if (req.url === '/first') void release.promise.then(answer);
    else answer();
  });
  stack = await startStack(`
pools:
  p:
    maxConcurrent: 1
    health: { readiness: { path: /health, interval: 1h } }
    backends: [${model.url}]
`);
  const first = request(`${stack.url}/first`);
  await model.waitFor((s) => s.url === '/first');
  const second = request(`${stack.url}/second`);
  await until(stack, async () => (await metric(stack, 'infergate_queue_length', { pool: 'p' })) === 1, 'the second request to wait');
  expect(model.user.map((s) => s.url)).toEqual(['/first']);

  release.resolve();
  const [a, b] = await Promise.all([first, second]);
  expect([a.status, a.body.toString(), b.status, b.body.toString()]).toEqual([200, '/first', 200, '/second']);
  expect(model.user.map((s) => s.url)).toEqual(['/first', '/second']);
  expect(await metric(stack, 'infergate_queue_length', { pool: 'p' })).toBe(0);
});

test('a backend-level maxConcurrent overrides the pool: two in flight, the third waits', async () => {
  model = await startModel({ '/health': 200 });
  const release = deferred();
  model.handle((req, res) => {
    void release.promise.then(() => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(req.url);
    });
  });
  stack = await startStack(`
pools:
  p:
    maxConcurrent: 1
    health: { readiness: { path: /health, interval: 1h } }
    backends: [{ url: "${model.url}", maxConcurrent: 2 }]
`);
  const replies = [request(`${stack.url}/1`), request(`${stack.url}/2`)];
  await model.waitFor(() => true, 2);
  replies.push(request(`${stack.url}/3`));
  await until(stack, async () => (await metric(stack, 'infergate_queue_length', { pool: 'p' })) === 1, 'the third request to wait');
  expect(model.user).toHaveLength(2);
  release.resolve();
  expect((await Promise.all(replies)).map((r) => r.status)).toEqual([200, 200, 200]);
  expect(model.user).toHaveLength(3);
});

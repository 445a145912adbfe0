// A POST is retried when it provably never reached the model (refused connection, a TCP reset of a request the server
// never read); after a close (it may have been processed) only when the pool lists POST in retry.methods or sets
// retry.nonIdempotent — with its body intact.
import net from 'node:net';
import { afterEach, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { QUIET_HEALTH, accessLine, json, request, waitAllReady } from './support.js';

let open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.map((x) => x.close()));
  open = [];
});

/** `first` is picked first (random() = 0 picks the first eligible backend), `alive` answers 200. */
async function pool(retry: string, first: 'refuses' | 'resets'): Promise<{ stack: Stack; alive: TestBackend }> {
  const bad = await startBackend(first === 'resets' ? (req, res) => (req.url === '/health' ? res.end('ok') : req.socket.destroy()) : undefined);
  const alive = await startBackend();
  const stack = await startStack(`pools:\n  p: { balance: random, health: ${QUIET_HEALTH}, retry: ${retry}, backends: [${bad.url}, ${alive.url}] }\n`, { deps: { random: () => 0 } });
  open.push(stack, alive);
  await waitAllReady(stack);
  if (first === 'refuses') await bad.close();
  else open.push(bad);
  return { stack, alive };
}

const post = (stack: Stack, id: string, body: string) => request(`${stack.url}/predict`, { method: 'POST', body, headers: { 'x-request-id': id, 'content-type': 'application/json' } });

test('by default a POST that meets a refused connection is retried on another backend: it never reached the model', async () => {
  const { stack, alive } = await pool('{}', 'refuses');
  const reply = await post(stack, 'post-1', '{"x":1}');
  expect(reply.status).toBe(200);
  expect(await accessLine(stack, 'post-1')).toMatchObject({ attempts: 2, status: 200 });
  expect(alive.requests.map((r) => [r.method, r.body.toString()])).toEqual([['POST', '{"x":1}']]);
});

test('by default a POST whose connection is closed after it was read (it may have been processed) is answered 502, not retried', async () => {
  const { stack, alive } = await pool('{}', 'resets');
  const reply = await post(stack, 'post-2', '{"x":2}');
  expect(reply.status).toBe(502);
  expect(json(reply)).toMatchObject({ error: 'upstream-reset' });
  expect(await accessLine(stack, 'post-2')).toMatchObject({ attempts: 1 });
  expect(alive.requests).toEqual([]);
});

test('a pool that lists POST in retry.methods retries a reset POST on the other backend with the same body', async () => {
  const { stack, alive } = await pool('{ methods: [post, GET] }', 'resets');
  const reply = await post(stack, 'post-3', '{"x":3}');
  expect(reply.status).toBe(200);
  expect(alive.requests.map((r) => [r.method, r.body.toString()])).toEqual([['POST', '{"x":3}']]);
});

test('retry.nonIdempotent: a pool of pure inference retries a reset POST too', async () => {
  const { stack, alive } = await pool('{ nonIdempotent: true }', 'resets');
  const reply = await post(stack, 'post-4', '{"x":4}');
  expect(reply.status).toBe(200);
  expect(alive.requests.map((r) => [r.method, r.body.toString()])).toEqual([['POST', '{"x":4}']]);
});

/**
 * A model server going away as a request lands: once `stopping` is set, the next connection is accepted but never
 * read, the server stops listening and 20 ms later closes it — the kernel resets a socket closed with data unread, as
 * it resets the connections left in a stopping server's accept queue.
 */
async function stoppingServer(): Promise<{ url: string; stopping: boolean; close(): Promise<void> }> {
  const state = { url: '', stopping: false, close: async () => {} };
  const server = net.createServer({ pauseOnConnect: true }, (socket) => {
    socket.on('error', () => socket.destroy());
    if (state.stopping) {
      server.close();
      setTimeout(() => socket.destroy(), 20);
      return;
    }
    socket.resume();
    socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  state.url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  state.close = () => new Promise<void>((r) => (server.listening ? server.close(() => r()) : r()));
  return state;
}

async function resetPool(first: { url: string; close(): Promise<void> }): Promise<{ stack: Stack; alive: TestBackend }> {
  const alive = await startBackend();
  const stack = await startStack(`pools:\n  p: { balance: random, health: ${QUIET_HEALTH}, backends: [${first.url}, ${alive.url}] }\n`, { deps: { random: () => 0 } });
  open.push(stack, alive, first);
  await waitAllReady(stack);
  return { stack, alive };
}

test('by default a POST reset unread by a server that stopped listening is retried on another backend', async () => {
  const bad = await stoppingServer();
  const { stack, alive } = await resetPool(bad);
  bad.stopping = true;
  const reply = await post(stack, 'post-5', '{"x":5}');
  expect(reply.status).toBe(200);
  expect(await accessLine(stack, 'post-5')).toMatchObject({ attempts: 2, status: 200, backend: `p.default.${alive.url.slice('http://'.length)}` });
  expect(alive.requests.map((r) => [r.method, r.body.toString()])).toEqual([['POST', '{"x":5}']]);
});

test('a POST reset by a server that read it and still listens (SO_LINGER 0) is answered 502, not retried', async () => {
  let read = 0;
  const bad = await startBackend((req, res) => {
    if (req.url === '/health') return void res.end('ok');
    read++;
    setTimeout(() => req.socket.resetAndDestroy(), 10);
  });
  const { stack, alive } = await resetPool(bad);
  const reply = await post(stack, 'post-6', '{"x":6}');
  expect(reply.status).toBe(502);
  expect(json(reply)).toMatchObject({ error: 'upstream-reset' });
  expect(read).toBe(1);
  expect(alive.requests).toEqual([]);
});

test('a POST answered 103 Early Hints and then reset is not retried, even if the server stops listening', async () => {
  const bad = await startBackend((req, res) => {
    if (req.url === '/health') return void res.end('ok');
    res.writeEarlyHints({ link: '</x>; rel=preload' });
    setTimeout(() => {
      bad.server.close();
      req.socket.resetAndDestroy();
    }, 10);
  });
  const { stack, alive } = await resetPool(bad);
  const reply = await post(stack, 'post-7', '{"x":7}');
  expect(reply.status).toBe(502);
  expect(alive.requests).toEqual([]);
});

// Keep-alive race: the backend drops a pooled socket just as it is reused; the request is retried once on a fresh connection.
import net from 'node:net';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { startBackend } from '../helpers/backend.js';
import { QUIET_HEALTH, accessLine, metric, onePool, request, waitAllReady } from './support.js';

/** Answers the first request of a connection with keep-alive and destroys the socket when a second one arrives on it. */
interface RacyBackend {
  url: string;
  /** Per user request: the connection it arrived on (1, 2, ... counting connections that carried user requests) and whether it was answered. */
  seen: Array<{ line: string; connection: number; answered: boolean }>;
  close(): Promise<void>;
}

/** `drop`: close the socket (FIN), or reset it (RST, what a kernel sends for a socket closed with data unread). */
async function startRacyBackend(drop: 'close' | 'reset' = 'close'): Promise<RacyBackend> {
  const seen: RacyBackend['seen'] = [];
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const server = net.createServer((socket) => {
    // Numbered on their first user request, so probe connections do not count.
    let connection = 0;
    let served = 0;
    let buffered = '';
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      for (let end = buffered.indexOf('\r\n\r\n'); end >= 0; end = buffered.indexOf('\r\n\r\n')) {
        const head = buffered.slice(0, end);
        const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
        buffered = buffered.slice(end + 4 + length);
        const line = head.slice(0, head.indexOf('\r\n'));
        if (line.startsWith('GET /health ')) {
          socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok');
          return;
        }
        if (connection === 0) connection = ++connections;
        if (++served === 2) {
          seen.push({ line, connection, answered: false });
          if (drop === 'reset') socket.resetAndDestroy();
          else socket.destroy();
          return;
        }
        seen.push({ line, connection, answered: true });
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

let backend: RacyBackend;
let stack: Stack;

// Each test its own backend and stack: connection numbers and counters start from scratch.
beforeEach(async () => {
  backend = await startRacyBackend();
  stack = await startStack(onePool([backend.url], '    upstream: { connections: 1 }'));
});
afterEach(async () => {
  await stack.close();
  await backend.close();
});

test('a GET on a reused socket that the backend drops is retried once on a fresh connection: the client sees 200', async () => {
  expect((await request(`${stack.url}/one`)).status).toBe(200);
  const reply = await request(`${stack.url}/two`, { headers: { 'x-request-id': 'race-1' } });
  expect(reply.status).toBe(200);
  expect(reply.body.toString()).toBe('ok');
  expect(backend.seen).toEqual([
    { line: 'GET /one HTTP/1.1', connection: 1, answered: true },
    { line: 'GET /two HTTP/1.1', connection: 1, answered: false },
    { line: 'GET /two HTTP/1.1', connection: 2, answered: true },
  ]);
  expect(await accessLine(stack, 'race-1')).toMatchObject({ status: 200, attempts: 2 });
  expect(await metric(stack, 'infergate_retries_total', { pool: 'p', reason: 'reused-connection' })).toBe(1);
});

test.each([
  ['closes (FIN)', 'close', 'race-2'],
  ['resets (TCP RST, not FIN)', 'reset', 'race-3'],
] as const)('a POST on a reused socket the backend %s is the keep-alive race, replayed once on a fresh connection: it never reached the model', async (_how, drop, id) => {
  if (drop === 'reset') {
    await stack.close();
    await backend.close();
    backend = await startRacyBackend('reset');
    stack = await startStack(onePool([backend.url], '    upstream: { connections: 1 }'));
  }
  expect((await request(`${stack.url}/one`)).status).toBe(200);
  // Connection 1 has served one request; the POST reuses it and is dropped before any response byte.
  const reply = await request(`${stack.url}/three`, { method: 'POST', body: '{}', headers: { 'x-request-id': id } });
  expect(reply.status).toBe(200);
  expect(backend.seen).toEqual([
    { line: 'GET /one HTTP/1.1', connection: 1, answered: true },
    { line: 'POST /three HTTP/1.1', connection: 1, answered: false },
    { line: 'POST /three HTTP/1.1', connection: 2, answered: true },
  ]);
  expect(await accessLine(stack, id)).toMatchObject({ status: 200, attempts: 2 });
  expect(await metric(stack, 'infergate_retries_total', { pool: 'p', reason: 'reused-connection' })).toBe(1);
});

test.each([[''], ['retry: { attempts: 1 },']])('the race is given one more connection, not more: a POST every warm backend resets is sent twice at most (%s)', async (extra) => {
  const processed = [0, 0, 0];
  const backends = await Promise.all([0, 1, 2].map((i) => startBackend((req, res) => {
    if (req.method === 'GET') return void res.end('warm');
    processed[i]!++;
    req.socket.resetAndDestroy();
  })));
  const three = await startStack(`pools:\n  p: { balance: round-robin, health: ${QUIET_HEALTH}, ${extra} backends: [${backends.map((b) => b.url).join(', ')}] }\n`);
  try {
    await waitAllReady(three);
    // One GET each: every backend has a pooled connection that carried a response.
    for (let i = 0; i < 3; i++) expect((await request(`${three.url}/warm${i}`)).status).toBe(200);
    const reply = await request(`${three.url}/predict`, { method: 'POST', body: '{}', headers: { 'x-request-id': 'race-4' } });
    expect(reply.status).toBe(502);
    expect(processed.reduce((a, b) => a + b, 0)).toBe(2);
    expect(await accessLine(three, 'race-4')).toMatchObject({ attempts: 2, error: 'upstream-reset' });
  } finally {
    await three.close();
    await Promise.all(backends.map((b) => b.close()));
  }
});

// timeouts.total bounds the whole exchange: 504 total-timeout before the head, a cut connection after it.
// The total timeout is the proxy's own timer (injected clock); firstByte and idle are undici's, set far away.
import http from 'node:http';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { accessLine, backends, deferred, json, metric, onePool, request, within, type Deferred } from './support.js';

let backend: TestBackend;
let stack: Stack;
const clock = new ManualClock();
/** Per test: resolves when the backend has the request (and, for /streaming, has written its first event). */
let arrived: Deferred<void>;

beforeAll(async () => {
  backend = await startBackend((req, res) => {
    if (req.url === '/streaming') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: 1\n\n');
    }
    arrived.resolve();
    // '/silent' never answers.
  });
  stack = await startStack(onePool([backend.url], '    timeouts: { total: 300ms, firstByte: 30s, idle: 30s }'), { deps: { clock } });
});
afterAll(async () => {
  await stack.close();
  await backend.close();
});

test('a backend silent past the total timeout: 504 total-timeout, slot freed', async () => {
  arrived = deferred();
  let answered = false;
  const pending = request(`${stack.url}/silent`, { headers: { 'x-request-id': 'total-1' } }).then((r) => ((answered = true), r));
  await within(arrived.promise, 3000, 'the request at the backend');
  clock.advance(299);
  await fetch(`${stack.adminUrl}/healthz`); // a round trip later: still waiting at 299 ms
  expect(answered).toBe(false);
  clock.advance(1);
  const reply = await pending;
  expect(reply.status).toBe(504);
  expect(reply.headers['x-request-id']).toBe('total-1');
  expect(json(reply)).toMatchObject({ error: 'total-timeout', requestId: 'total-1' });
  const line = await accessLine(stack, 'total-1');
  expect(line).toMatchObject({ status: 504, error: 'total-timeout', attempts: 1, totalMs: 300 });
  expect(backends(stack)[0]!.inflight).toBe(0);
});

test('a stream still going at the total timeout: the client connection is cut', async () => {
  const before = await metric(stack, 'infergate_errors_total', { pool: 'p', kind: 'total-timeout' });
  arrived = deferred();
  const firstEvent = deferred();
  const cut = within(
    new Promise<{ status: number; body: string; ended: boolean }>((resolve, reject) => {
      const req = http.get(`${stack.url}/streaming`, { agent: false, headers: { 'x-request-id': 'total-2' } }, (res) => {
        let body = '';
        let ended = false;
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
          firstEvent.resolve();
        });
        res.on('end', () => (ended = true));
        res.on('close', () => resolve({ status: res.statusCode ?? 0, body, ended }));
      });
      req.on('error', reject);
    }),
    5000,
    'the cut connection',
  );
  await within(firstEvent.promise, 3000, 'the first event at the client');
  clock.advance(300);
  expect(await cut).toEqual({ status: 200, body: 'data: 1\n\n', ended: false });
  expect(await accessLine(stack, 'total-2')).toMatchObject({ status: 200, cut: 'total-timeout', error: 'total-timeout' });
  expect(await metric(stack, 'infergate_errors_total', { pool: 'p', kind: 'total-timeout' })).toBe(before + 1);
  expect(backends(stack)[0]!.inflight).toBe(0);
});

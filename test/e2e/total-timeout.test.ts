// timeouts.total bounds the whole exchange: 504 total-timeout before the head, a cut connection after it.
import http from 'node:http';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { accessLine, backends, json, metric, onePool, request, within } from './support.js';

let backend: TestBackend;
let stack: Stack;

beforeAll(async () => {
  backend = await startBackend((req, res) => {
    if (req.url === '/streaming') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: 1\n\n');
    }
    // '/silent' never answers.
  });
  stack = await startStack(onePool([backend.url], '    timeouts: { total: 300ms, firstByte: 30s, idle: 30s }'));
});
afterAll(async () => {
  await stack.close();
  await backend.close();
});

test('a backend silent past the total timeout: 504 total-timeout, slot freed', async () => {
  const reply = await request(`${stack.url}/silent`, { headers: { 'x-request-id': 'total-1' } });
  expect(reply.status).toBe(504);
  expect(reply.headers['x-request-id']).toBe('total-1');
  expect(json(reply)).toMatchObject({ error: 'total-timeout', requestId: 'total-1' });
  const line = await accessLine(stack, 'total-1');
  expect(line).toMatchObject({ status: 504, error: 'total-timeout', attempts: 1 });
  expect(line.totalMs as number).toBeGreaterThanOrEqual(290);
  expect(backends(stack)[0]!.inflight).toBe(0);
});

test('a stream still going at the total timeout: the client connection is cut', async () => {
  const outcome = await within(
    new Promise<{ status: number; body: string; ended: boolean }>((resolve, reject) => {
      const req = http.get(`${stack.url}/streaming`, { agent: false, headers: { 'x-request-id': 'total-2' } }, (res) => {
        let body = '';
        let ended = false;
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => (ended = true));
        res.on('close', () => resolve({ status: res.statusCode ?? 0, body, ended }));
      });
      req.on('error', reject);
    }),
    5000,
    'the cut connection',
  );
  expect(outcome).toEqual({ status: 200, body: 'data: 1\n\n', ended: false });
  expect(await accessLine(stack, 'total-2')).toMatchObject({ status: 200, error: 'total-timeout' });
  expect(await metric(stack, 'infergate_errors_total', { pool: 'p', kind: 'total-timeout' })).toBe(2);
  expect(backends(stack)[0]!.inflight).toBe(0);
});

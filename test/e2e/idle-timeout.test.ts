// A backend that stalls: before its first body byte the wait is timeouts.firstByte (504 first-byte-timeout while nothing
// reached the client); once the body flows, a gap longer than timeouts.idle cuts the connection, recorded as cut.
import http from 'node:http';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { accessLine, json, metric, onePool, request, within } from './support.js';

let backend: TestBackend;
let stack: Stack;

beforeAll(async () => {
  backend = await startBackend((req, res) => {
    if (req.url === '/sized') {
      // Head with a length, then silence: nothing of the body ever comes.
      res.writeHead(200, { 'content-length': '10' });
      res.flushHeaders();
    } else {
      // A stream that sends its first piece, then stalls.
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: first\n\n');
    }
  });
  stack = await startStack(onePool([backend.url], '    timeouts: { firstByte: 300ms, idle: 200ms }'));
});
afterAll(async () => {
  await stack.close();
  await backend.close();
});

test('a sized head, then no body byte: 504 first-byte-timeout as JSON (the head was held back)', async () => {
  const reply = await request(`${stack.url}/sized`, { headers: { 'x-request-id': 'idle-1' } });
  expect(reply.status).toBe(504);
  expect(reply.headers['x-request-id']).toBe('idle-1');
  expect(json(reply)).toMatchObject({ error: 'first-byte-timeout', requestId: 'idle-1' });
  expect(await accessLine(stack, 'idle-1')).toMatchObject({ status: 504, error: 'first-byte-timeout', attempts: 1 });
});

test('after the head and first bytes reached the client: the client connection is cut', async () => {
  const before = await metric(stack, 'infergate_errors_total', { pool: 'p', kind: 'idle-timeout' });
  const cutBefore = await metric(stack, 'infergate_responses_cut_total', { pool: 'p', group: 'default', kind: 'idle-timeout' });
  const outcome = await within(
    new Promise<{ status: number; body: string; ended: boolean }>((resolve, reject) => {
      const req = http.get(`${stack.url}/stream`, { agent: false, headers: { 'x-request-id': 'idle-2' } }, (res) => {
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
  expect(outcome).toEqual({ status: 200, body: 'data: first\n\n', ended: false });
  expect(await accessLine(stack, 'idle-2')).toMatchObject({ status: 200, error: 'idle-timeout' });
  expect(await metric(stack, 'infergate_errors_total', { pool: 'p', kind: 'idle-timeout' })).toBe(before + 1);
  expect(await metric(stack, 'infergate_responses_cut_total', { pool: 'p', group: 'default', kind: 'idle-timeout' })).toBe(cutBefore + 1);
});

// Once a backend began answering, the request is never retried: the client sees the cut, the other backend sees nothing.
import http from 'node:http';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { accessLine, onePool, waitAllReady, within } from './support.js';

let failing: TestBackend;
let other: TestBackend;
let stack: Stack;

beforeAll(async () => {
  failing = await startBackend((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('partial', () => res.socket?.destroy());
  });
  other = await startBackend();
  // random() = 0 always picks the first eligible backend: the failing one.
  stack = await startStack(onePool([failing.url, other.url]).replace('round-robin', 'random'), { deps: { random: () => 0 } });
  await waitAllReady(stack);
});
afterAll(async () => {
  await stack.close();
  await failing.close();
  await other.close();
});

test('a GET reset after its first response bytes is cut, not retried', async () => {
  const outcome = await within(
    new Promise<{ status: number; body: string; ended: boolean }>((resolve, reject) => {
      const req = http.get(`${stack.url}/g`, { agent: false, headers: { 'x-request-id': 'mid-1' } }, (res) => {
        let body = '';
        let ended = false;
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => (ended = true));
        res.on('close', () => resolve({ status: res.statusCode ?? 0, body, ended }));
      });
      req.on('error', reject);
    }),
    3000,
    'the cut response',
  );
  expect(outcome).toEqual({ status: 200, body: 'partial', ended: false });
  expect(await accessLine(stack, 'mid-1')).toMatchObject({ attempts: 1, error: 'upstream-reset' });
  expect(other.requests).toEqual([]);
});

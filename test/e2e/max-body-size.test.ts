// maxBodySize: a larger body is refused with 413, whether it declares its length or streams chunked.
import http from 'node:http';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { accessLine, backends, json, metric, onePool, request, within } from './support.js';

let backend: TestBackend;
let stack: Stack;

beforeAll(async () => {
  backend = await startBackend();
  stack = await startStack(onePool([backend.url], '    maxBodySize: 64kb'));
});
afterAll(async () => {
  await stack.close();
  await backend.close();
});

test('a Content-Length above the limit: 413 before anything is sent upstream', async () => {
  const reply = await request(`${stack.url}/big`, { method: 'POST', body: Buffer.alloc(64 * 1024 + 1), headers: { 'x-request-id': 'max-1' } });
  expect(reply.status).toBe(413);
  expect(json(reply)).toMatchObject({ error: 'body-too-large', requestId: 'max-1' });
  expect(backend.requests.map((r) => r.url)).not.toContain('/big');
});

test('a body at the limit passes', async () => {
  const reply = await request(`${stack.url}/fits`, { method: 'POST', body: Buffer.alloc(64 * 1024) });
  expect(reply.status).toBe(200);
  expect(backend.requests.at(-1)!.body.length).toBe(64 * 1024);
});

test('a chunked body that grows past the limit: 413, upstream aborted, backend not blamed', async () => {
  const before = await metric(stack, 'infergate_errors_total', { pool: 'p', kind: 'body-too-large' });
  const status = await within(
    new Promise<number>((resolve, reject) => {
      const req = http.request(`${stack.url}/chunked`, { method: 'POST', agent: false, headers: { 'transfer-encoding': 'chunked', 'x-request-id': 'max-2' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      // 16 x 8 KB = 128 KB, sent as it is accepted.
      const chunk = Buffer.alloc(8 * 1024, 120);
      let n = 0;
      const pump = (): void => {
        while (n < 16) {
          n++;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    }),
    5000,
    'the 413',
  );
  expect(status).toBe(413);
  expect(await accessLine(stack, 'max-2')).toMatchObject({ status: 413, error: 'body-too-large' });
  expect(backends(stack)[0]!.errors).toBe(0);
  expect(backends(stack)[0]!.inflight).toBe(0);
  expect(await metric(stack, 'infergate_errors_total', { pool: 'p', kind: 'body-too-large' })).toBe(before + 1);
});

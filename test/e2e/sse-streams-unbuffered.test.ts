// Server-sent events are never buffered: the first event reaches the client while the backend still holds the rest.
import http from 'node:http';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { accessLine, deferred, onePool, within } from './support.js';

let backend: TestBackend;
let stack: Stack;
const firstEventSeenByClient = deferred();
let restSent = false;

beforeAll(async () => {
  backend = await startBackend((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write('data: {"token":"Hello"}\n\n');
    // The rest waits until the client proved it already has the first event.
    void firstEventSeenByClient.promise.then(() => {
      restSent = true;
      res.write('data: {"token":" world"}\n\n');
      res.end('data: [DONE]\n\n');
    });
  });
  stack = await startStack(onePool([backend.url]));
});
afterAll(async () => {
  await stack.close();
  await backend.close();
});

test('the first event arrives before the backend sends the next, and the whole stream follows', async () => {
  const body = await within(
    new Promise<string>((resolve, reject) => {
      const req = http.get(`${stack.url}/v1/completions`, { agent: false, headers: { accept: 'text/event-stream', 'x-request-id': 'sse-1' } }, (res) => {
        expect(res.statusCode).toBe(200);
        expect(res.headers['content-type']).toBe('text/event-stream');
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          if (text === '') {
            expect(restSent).toBe(false);
            expect(c).toBe('data: {"token":"Hello"}\n\n');
            firstEventSeenByClient.resolve();
          }
          text += c;
        });
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
    }),
    3000,
    'the event stream (a buffering proxy never delivers the first event alone)',
  );
  expect(body).toBe('data: {"token":"Hello"}\n\ndata: {"token":" world"}\n\ndata: [DONE]\n\n');
  expect(await accessLine(stack, 'sse-1')).toMatchObject({ status: 200, attempts: 1 });
});

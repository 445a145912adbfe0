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
  const seen = await within(
    new Promise<{ status: number; type: string | undefined; first: string; restSentBeforeFirst: boolean; body: string }>((resolve, reject) => {
      const req = http.get(`${stack.url}/v1/completions`, { agent: false, headers: { accept: 'text/event-stream', 'x-request-id': 'sse-1' } }, (res) => {
        let first: { chunk: string; restSent: boolean } | null = null;
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          if (first === null) {
            first = { chunk: c, restSent };
            firstEventSeenByClient.resolve();
          }
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], first: first?.chunk ?? '', restSentBeforeFirst: first?.restSent ?? true, body: text }));
      });
      req.on('error', reject);
    }),
    3000,
    'the event stream (a buffering proxy never delivers the first event alone)',
  );
  expect(seen).toEqual({
    status: 200,
    type: 'text/event-stream',
    first: 'data: {"token":"Hello"}\n\n',
    restSentBeforeFirst: false,
    body: 'data: {"token":"Hello"}\n\ndata: {"token":" world"}\n\ndata: [DONE]\n\n',
  });
  expect(await accessLine(stack, 'sse-1')).toMatchObject({ status: 200, attempts: 1 });
});

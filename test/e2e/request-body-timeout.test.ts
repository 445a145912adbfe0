// A client that sends its body too slowly (requestBody.idle 10s between reads, minRate 1kb/s after the first 10 s):
// 408 client-body-timeout before anything went upstream; a streaming upload's upstream attempt is aborted.
// Time is a ManualClock: the timeouts fire when the test moves it, sockets are real.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterEach, expect, test } from 'vitest';
import { startBackend, streaming, type TestBackend } from '../helpers/backend.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { slowUpload, until } from './slow-upload.js';
import { accessLine, backends, deferred, metric, onePool, within } from './support.js';

let open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.map((x) => x.close()));
  open = [];
});

async function boot(backend: TestBackend, extra = ''): Promise<{ stack: Stack; clock: ManualClock }> {
  const clock = new ManualClock();
  const stack = await startStack(onePool([backend.url], extra), { deps: { clock } });
  open.push(stack, backend);
  return { stack, clock };
}

const held = (stack: Stack): Promise<number> => metric(stack, 'infergate_request_body_buffered_bytes', { pool: 'p' });

test('a buffered body that stops for 10 s (the default idle): 408 as JSON, the connection closed, nothing sent upstream', async () => {
  const backend = await startBackend();
  const { stack, clock } = await boot(backend);
  const upload = slowUpload(stack.port, '/v1/x', 1000, 10, { 'x-request-id': 'slow-body-1' });
  await until('10 bytes buffered', async () => (await held(stack)) === 10);
  clock.advance(9_999);
  expect(await held(stack)).toBe(10);
  clock.advance(1);
  const { responses, closedByServer } = await within(upload.done, 5000, 'the 408 and the close');
  expect(responses.map((r) => r.status)).toEqual([408]);
  expect(JSON.parse(responses[0]!.body)).toMatchObject({ error: 'client-body-timeout', requestId: 'slow-body-1' });
  expect(closedByServer).toBe(true);
  expect(await accessLine(stack, 'slow-body-1')).toMatchObject({ status: 408, error: 'client-body-timeout', attempts: 0 });
  expect(await metric(stack, 'infergate_errors_total', { pool: 'p', kind: 'client-body-timeout' })).toBe(1);
  expect(await held(stack)).toBe(0);
  expect(backend.requests).toEqual([]);
});

test('1 byte per second never trips the idle gap, but the minimum rate cuts it just after the first 10 s', async () => {
  const backend = await startBackend();
  const { stack, clock } = await boot(backend);
  const upload = slowUpload(stack.port, '/v1/x', 1_000_000, 0, { 'x-request-id': 'trickle-1' });
  let answered = false;
  void upload.answered.then(() => (answered = true));
  let sent = 0;
  for (let second = 1; second <= 12 && !answered; second++) {
    upload.send(1);
    sent++;
    await until(`byte ${sent} buffered`, async () => answered || (await held(stack)) === sent);
    clock.advance(1000);
    await new Promise((r) => setTimeout(r, 20));
  }
  const reply = await within(upload.answered, 5000, 'the 408');
  expect(reply.status).toBe(408);
  // 10 s of grace at one byte a second, then the rate (10 bytes in 10 s, far below 1 KiB/s) ends it.
  expect(sent).toBe(11);
  expect(await accessLine(stack, 'trickle-1')).toMatchObject({ status: 408, error: 'client-body-timeout' });
  expect(backend.requests).toEqual([]);
  upload.destroy();
});

test('a streaming upload that stalls: 408 to the client, the upstream request aborted, the backend slot freed', async () => {
  const backend = await startBackend();
  const aborted = deferred<number>();
  let received = 0;
  backend.handle(streaming((req: IncomingMessage, _res: ServerResponse) => {
    req.on('data', (c: Buffer) => (received += c.length));
    req.on('close', () => {
      if (!req.complete) aborted.resolve(received);
    });
  }));
  const { stack, clock } = await boot(backend, '    requestBody: { buffer: 1kb }\n    retry: { bufferBody: 0 }');
  const upload = slowUpload(stack.port, '/v1/big', 100_000, 5000, { 'x-request-id': 'stall-1' });
  await until('5000 bytes at the backend', () => received === 5000);
  expect(backends(stack)[0]!.inflight).toBe(1);
  clock.advance(10_000);
  const reply = await within(upload.answered, 5000, 'the 408');
  expect(reply.status).toBe(408);
  expect(await within(aborted.promise, 5000, 'the upstream abort')).toBe(5000);
  expect(await accessLine(stack, 'stall-1')).toMatchObject({ status: 408, error: 'client-body-timeout', attempts: 1 });
  await until('the backend slot to be freed', () => backends(stack)[0]!.inflight === 0);
  // The client's fault, not the backend's: no backend error counted.
  expect(await metric(stack, 'infergate_backend_errors_total', { kind: 'client-body-timeout' })).toBe(1);
  expect(backends(stack)[0]!.errors).toBe(0);
  upload.destroy();
});

// protocol: h2 — a stream the backend resets with REFUSED_STREAM before answering was never processed (RFC 9113 8.7):
// a POST goes to another backend; a stream reset with any other code after the server read it is answered, not retried.
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, test } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { accessLine, json, request, waitAllReady } from './support.js';

interface H2Backend {
  url: string;
  /** User requests whose whole body this server read. */
  read: string[];
  close(): Promise<void>;
}

/**
 * An h2c server: /health answers 200; a user stream is refused unread (`refuse`), or its body is read and then it is
 * answered 200 "ok" (`serve`), reset with INTERNAL_ERROR, covered by a GOAWAY(REFUSED_STREAM) whose last stream id
 * includes it (processed, by the server's own word), or its session destroyed.
 */
async function h2Backend(mode: 'serve' | 'refuse' | 'reset-after-reading' | 'goaway-after-reading' | 'destroy-after-reading'): Promise<H2Backend> {
  const read: string[] = [];
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    if (headers[':path'] === '/health') {
      stream.respond({ ':status': 200 });
      stream.end('ok');
      return;
    }
    if (mode === 'refuse') {
      stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      return;
    }
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      read.push(Buffer.concat(chunks).toString());
      if (mode === 'reset-after-reading') stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      else if (mode === 'goaway-after-reading') stream.session!.goaway(http2.constants.NGHTTP2_REFUSED_STREAM, stream.id!);
      else if (mode === 'destroy-after-reading') stream.session!.destroy();
      else {
        stream.respond({ ':status': 200 });
        stream.end('ok');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    read,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

let open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.map((x) => x.close()));
  open = [];
});

async function pool(first: H2Backend, second: H2Backend): Promise<Stack> {
  const stack = await startStack(
    `pools:\n  p: { protocol: h2, balance: random, health: { readiness: { path: /health, interval: 1h, healthyThreshold: 1 } }, backends: [${first.url}, ${second.url}] }\n`,
    { deps: { random: () => 0 } },
  );
  open.push(stack, first, second);
  await waitAllReady(stack);
  return stack;
}

const post = (stack: Stack, id: string, body: string) => request(`${stack.url}/v2/models/m/infer`, { method: 'POST', body, headers: { 'x-request-id': id, 'content-type': 'application/json' } });

test('a POST whose stream the backend refuses (REFUSED_STREAM) is retried on another backend: it was never processed', async () => {
  const refusing = await h2Backend('refuse');
  const alive = await h2Backend('serve');
  const stack = await pool(refusing, alive);
  const reply = await post(stack, 'h2-refused', '{"x":1}');
  expect(reply.status).toBe(200);
  expect(alive.read).toEqual(['{"x":1}']);
  expect(await accessLine(stack, 'h2-refused')).toMatchObject({ status: 200, attempts: 2 });
});

test('a POST whose stream is reset with another code after the server read it is answered 502, not retried', async () => {
  const resetting = await h2Backend('reset-after-reading');
  const alive = await h2Backend('serve');
  const stack = await pool(resetting, alive);
  const reply = await post(stack, 'h2-reset', '{"x":2}');
  expect(reply.status).toBe(502);
  expect(json(reply)).toMatchObject({ requestId: 'h2-reset' });
  expect(resetting.read).toEqual(['{"x":2}']);
  expect(alive.read).toEqual([]);
});

test('when every backend refuses the stream, the answer is 503 stream-refused', async () => {
  const a = await h2Backend('refuse');
  const b = await h2Backend('refuse');
  const stack = await pool(a, b);
  const reply = await post(stack, 'h2-all-refused', '{"x":3}');
  expect(reply.status).toBe(503);
  expect(json(reply)).toMatchObject({ error: 'stream-refused' });
});

test('a backend that refuses every stream does not become a black hole under least-request (the default)', async () => {
  const refusing = await h2Backend('refuse');
  const alive = await h2Backend('serve');
  const stack = await startStack(`pools:\n  p: { protocol: h2, health: { readiness: { path: /health, interval: 1h, healthyThreshold: 1 } }, backends: [${refusing.url}, ${alive.url}] }\n`);
  open.push(stack, refusing, alive);
  await waitAllReady(stack);
  const attempts: number[] = [];
  for (let i = 0; i < 30; i++) {
    expect((await post(stack, `seq-${i}`, '{}')).status).toBe(200);
    attempts.push((await accessLine(stack, `seq-${i}`)).attempts as number);
  }
  // Refusals count against the backend (latency score, outlier detection): it soon stops being tried first.
  expect(attempts.filter((a) => a > 1).length).toBeLessThan(10);
  const burst = await Promise.all(Array.from({ length: 40 }, (_, i) => post(stack, `burst-${i}`, '{}')));
  expect(burst.filter((r) => r.status !== 200)).toEqual([]);
});

test('a GOAWAY carrying REFUSED_STREAM that covers a stream the server processed is not a refusal: not replayed', async () => {
  const goingAway = await h2Backend('goaway-after-reading');
  const alive = await h2Backend('serve');
  const stack = await pool(goingAway, alive);
  const reply = await post(stack, 'h2-goaway', '{"x":4}');
  expect(reply.status).toBe(502);
  expect(goingAway.read).toEqual(['{"x":4}']);
  expect(alive.read).toEqual([]);
});

test('a stream that ends without any answer (the backend\'s session destroyed) is a 502, never an empty 200', async () => {
  const dying = await h2Backend('destroy-after-reading');
  const alive = await h2Backend('serve');
  const stack = await pool(dying, alive);
  const reply = await post(stack, 'h2-destroyed', '{"x":5}');
  expect(reply.status).toBe(502);
  expect(json(reply)).toMatchObject({ error: 'upstream-reset', requestId: 'h2-destroyed' });
  expect(alive.read).toEqual([]);
});

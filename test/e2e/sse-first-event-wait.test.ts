// LLM streams with the default timeouts: a vLLM-style server sends its SSE head at once and its first token after
// queueing + prefill. The wait for the first event is timeouts.firstByte (5m): a 70 s wait passes (nginx's 60 s
// proxy_read_timeout would cut it); after it, a gap between events longer than timeouts.idle (60s) cuts the stream,
// and the cut is recorded: the access line keeps status 200 with error idle-timeout, infergate_responses_cut_total counts it.
// Time is a ManualClock (the 70 s pass in an instant), sockets are real.
import http, { type ServerResponse } from 'node:http';
import { afterEach, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { until } from './slow-upload.js';
import { accessLine, deferred, metric, onePool } from './support.js';

let open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.map((x) => x.close()));
  open = [];
});

interface StreamClient {
  text: () => string;
  /** `ended`: the stream ended normally; false: the connection was cut. */
  closed: Promise<{ status: number; ended: boolean }>;
}

async function boot(): Promise<{ stack: Stack; clock: ManualClock; stream: Promise<ServerResponse> }> {
  const got = deferred<ServerResponse>();
  const backend: TestBackend = await startBackend((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.flushHeaders();
    got.resolve(res);
  });
  const clock = new ManualClock();
  // The pool has no timeouts of its own: the shipped defaults.
  const stack = await startStack(onePool([backend.url]), { deps: { clock } });
  open.push(stack, backend);
  return { stack, clock, stream: got.promise };
}

function streamFrom(stack: Stack, requestId: string): Promise<StreamClient> {
  return new Promise((resolveHead, reject) => {
    const req = http.get(`${stack.url}/v1/chat/completions`, { agent: false, headers: { accept: 'text/event-stream', 'x-request-id': requestId } }, (res) => {
      let text = '';
      let ended = false;
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => (ended = true));
      const closed = new Promise<{ status: number; ended: boolean }>((r) => res.on('close', () => r({ status: res.statusCode ?? 0, ended })));
      res.on('error', () => undefined);
      resolveHead({ text: () => text, closed });
    });
    req.on('error', reject);
  });
}

test('the first event after 70 s of prefill passes; the next events flow; a 61 s gap after them cuts the stream, recorded as cut', async () => {
  const { stack, clock, stream } = await boot();
  const client = await streamFrom(stack, 'llm-1');
  const upstream = await stream;
  clock.advance(70_000);
  upstream.write('data: {"token":"Hello"}\n\n');
  await until('the first event at the client', () => client.text().includes('Hello'));
  clock.advance(59_000);
  upstream.write('data: {"token":" world"}\n\n');
  await until('the second event at the client', () => client.text().includes('world'));
  clock.advance(59_000);
  expect(client.text()).toBe('data: {"token":"Hello"}\n\ndata: {"token":" world"}\n\n');
  clock.advance(2_000);
  const outcome = await client.closed;
  expect(outcome).toEqual({ status: 200, ended: false });
  expect(await accessLine(stack, 'llm-1')).toMatchObject({ status: 200, error: 'idle-timeout' });
  expect(await metric(stack, 'infergate_responses_cut_total', { pool: 'p', group: 'default', kind: 'idle-timeout' })).toBe(1);
  expect(await metric(stack, 'infergate_errors_total', { pool: 'p', kind: 'idle-timeout' })).toBe(1);
});

test('a stream that ends normally after a long first wait is a plain 200', async () => {
  const { stack, clock, stream } = await boot();
  const client = await streamFrom(stack, 'llm-2');
  const upstream = await stream;
  clock.advance(240_000);
  upstream.end('data: {"token":"late"}\n\ndata: [DONE]\n\n');
  expect(await client.closed).toEqual({ status: 200, ended: true });
  const line = await accessLine(stack, 'llm-2');
  expect(line).toMatchObject({ status: 200 });
  expect(line.error).toBeUndefined();
  expect(await metric(stack, 'infergate_responses_cut_total', { pool: 'p', group: 'default', kind: 'idle-timeout' })).toBe(0);
});

test('no first event within timeouts.firstByte (5m): the stream is cut as first-byte-timeout', async () => {
  const { stack, clock, stream } = await boot();
  const client = await streamFrom(stack, 'llm-3');
  await stream;
  clock.advance(299_000);
  await new Promise((r) => setTimeout(r, 50));
  expect(client.text()).toBe('');
  clock.advance(1_000);
  expect(await client.closed).toEqual({ status: 200, ended: false });
  expect(await accessLine(stack, 'llm-3')).toMatchObject({ status: 200, error: 'first-byte-timeout' });
  expect(await metric(stack, 'infergate_responses_cut_total', { pool: 'p', group: 'default', kind: 'first-byte-timeout' })).toBe(1);
});

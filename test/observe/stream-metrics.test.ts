// Metrics for canaries and streams, timed on the injected clock: request duration, bytes, time to first byte, time
// to the first server-sent event and the gap between events, by pool and group; open streams and client connections
// while a stream is open; effective weight per backend; failed attempts by backend and kind.
import http from 'node:http';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { deferred, metric, request, within, type Deferred } from '../e2e/support.js';

const clock = new ManualClock();
let sse: TestBackend;
let plain: TestBackend;
/** Healthy to probes, drops every user request. */
let resetting: TestBackend;
let stack: Stack;
/** The SSE backend's response, to write to when the test says. */
let upstream: Deferred<http.ServerResponse>;

beforeAll(async () => {
  upstream = deferred<http.ServerResponse>();
  sse = await startBackend((req, res) => {
    if (req.url === '/health') {
      res.end('ok');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.flushHeaders();
    upstream.resolve(res);
  });
  plain = await startBackend((req, res) => {
    res.writeHead(req.url === '/x/fail' ? 500 : 200, { 'content-type': 'text/plain' });
    res.end('pong');
  });
  resetting = await startBackend((req, res) => {
    if (req.url === '/health') res.end('ok');
    else req.socket.destroy();
  });
  stack = await startStack(`
routes:
  - { match: { pathPrefix: /x/ }, pool: plain }
  - { match: { pathPrefix: /reset/ }, pool: reset }
  - { match: {}, pool: chat }
pools:
  chat:
    health: { readiness: { path: /health, interval: 1h, healthyThreshold: 1 } }
    groups:
      canary: { weight: 100, backends: [${sse.url}] }
  plain:
    health: { readiness: { path: /health, interval: 1h, healthyThreshold: 1 } }
    retry: { attempts: 1 }
    backends: [{ url: ${plain.url}, weight: 3 }, http://127.0.0.1:9]
  reset:
    queue: false
    health: { readiness: { path: /health, interval: 1h, healthyThreshold: 1 } }
    backends: [${resetting.url}]
`, { waitReady: false, deps: { clock } });
  await stack.waitForLog((l) => l.msg === 'backend state changed' && l.backend === `chat.canary.127.0.0.1:${sse.port}` && l.to === 'READY');
  await stack.waitForLog((l) => l.msg === 'backend state changed' && l.backend === `plain.default.127.0.0.1:${plain.port}` && l.to === 'READY');
  await stack.waitForLog((l) => l.msg === 'backend state changed' && l.backend === `reset.default.127.0.0.1:${resetting.port}` && l.to === 'READY');
});
afterAll(async () => {
  await stack.close();
  await sse.close();
  await plain.close();
  await resetting.close();
});

test('time to first byte, first event and gaps between events; the stream counted open while it is', async () => {
  const received: string[] = [];
  let gotChunk: Deferred<void> = deferred();
  const head = deferred();
  const ended = deferred();
  const req = http.get(`${stack.url}/v1/chat`, { agent: false }, (res) => {
    head.resolve();
    res.setEncoding('utf8');
    res.on('data', (c: string) => {
      received.push(c);
      gotChunk.resolve();
    });
    res.on('end', () => ended.resolve());
  });
  req.on('error', (e) => { throw e; });
  await within(head.promise, 3000, 'response head');
  const res = await upstream.promise;
  /** The backend writes, and the client has it (so the proxy saw it as one chunk at the clock's time). */
  const send = async (s: string): Promise<void> => {
    gotChunk = deferred();
    res.write(s);
    await within(gotChunk.promise, 3000, `chunk ${JSON.stringify(s)}`);
  };
  clock.advance(100);
  await send('data: a\n\n'); // first byte and first event at 100 ms
  expect(await metric(stack, 'infergate_streams_open', { pool: 'chat', group: 'canary' })).toBe(1);
  expect(await metric(stack, 'infergate_client_connections')).toBe(1);
  clock.advance(250);
  await send('data: b\n'); // not an event yet
  clock.advance(50);
  await send('\n'); // event b: 300 ms after a
  clock.advance(20);
  gotChunk = deferred();
  res.end('data: c\r\n\r\ndata: d\r\n\r\n'); // c 20 ms after b; d in the same chunk, 0 ms after c
  await within(ended.promise, 3000, 'end of stream');
  expect(received.join('')).toBe('data: a\n\ndata: b\n\ndata: c\r\n\r\ndata: d\r\n\r\n');

  const g = { pool: 'chat', group: 'canary' };
  expect(await metric(stack, 'infergate_time_to_first_byte_seconds_count', g)).toBe(1);
  expect(await metric(stack, 'infergate_time_to_first_byte_seconds_sum', g)).toBeCloseTo(0.1, 9);
  expect(await metric(stack, 'infergate_sse_time_to_first_event_seconds_count', g)).toBe(1);
  expect(await metric(stack, 'infergate_sse_time_to_first_event_seconds_sum', g)).toBeCloseTo(0.1, 9);
  expect(await metric(stack, 'infergate_sse_event_gap_seconds_count', g)).toBe(3);
  expect(await metric(stack, 'infergate_sse_event_gap_seconds_sum', g)).toBeCloseTo(0.32, 9);
  expect(await metric(stack, 'infergate_sse_event_gap_seconds_bucket', { ...g, le: '0.001' })).toBe(1);
  expect(await metric(stack, 'infergate_sse_event_gap_seconds_bucket', { ...g, le: '0.025' })).toBe(2);
  expect(await metric(stack, 'infergate_sse_event_gap_seconds_bucket', { ...g, le: '0.25' })).toBe(2);
  expect(await metric(stack, 'infergate_sse_event_gap_seconds_bucket', { ...g, le: '0.5' })).toBe(3);
  expect(await metric(stack, 'infergate_request_duration_seconds_count', g)).toBe(1);
  expect(await metric(stack, 'infergate_request_duration_seconds_sum', g)).toBeCloseTo(0.42, 9);
  expect(await metric(stack, 'infergate_response_bytes_total', g)).toBe(received.join('').length);
  await expect.poll(() => metric(stack, 'infergate_streams_open', g)).toBe(0);
});

test('bytes in and out, time to first byte of a plain response, effective weight, failed attempts by backend and kind', async () => {
  const g = { pool: 'plain', group: 'default' };
  const reply = await request(`${stack.url}/x/echo`, { method: 'POST', body: 'hello' });
  expect(reply.status).toBe(200);
  expect(await metric(stack, 'infergate_request_bytes_total', g)).toBe(5);
  expect(await metric(stack, 'infergate_response_bytes_total', g)).toBe(4);
  expect(await metric(stack, 'infergate_time_to_first_byte_seconds_count', g)).toBe(1);
  // A plain response is no stream.
  expect(await metric(stack, 'infergate_sse_time_to_first_event_seconds_count', g)).toBe(0);
  const up = `plain.default.127.0.0.1:${plain.port}`;
  expect(await metric(stack, 'infergate_backend_effective_weight', { ...g, backend: up })).toBe(3);
  expect(await metric(stack, 'infergate_backend_effective_weight', { ...g, backend: 'plain.default.127.0.0.1:9' })).toBe(1);
  expect(await metric(stack, 'infergate_backend_errors_total', { ...g, backend: up, kind: 'connect-refused' })).toBe(0);
});

test('a failed attempt is counted against its backend by kind', async () => {
  const reply = await request(`${stack.url}/reset/1`);
  expect(reply.status).toBe(502);
  const id = `reset.default.127.0.0.1:${resetting.port}`;
  const text = await (await fetch(`${stack.adminUrl}/metrics`)).text();
  const lines = text.split('\n').filter((l) => l.startsWith('infergate_backend_errors_total{') && l.includes(`backend="${id}"`));
  expect(lines.length).toBeGreaterThan(0);
  for (const l of lines) expect(l).toMatch(/kind="(upstream-reset|keep-alive-race)"/);
  // The request's own failure is still counted by pool and kind, and its duration has no group (no response came).
  expect(await metric(stack, 'infergate_request_duration_seconds_count', { pool: 'reset', group: '' })).toBe(1);
});

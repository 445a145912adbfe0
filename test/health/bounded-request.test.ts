// boundedRequest against a real loopback server, its deadline on the injected clock: status, body, limits, failures.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { afterEach, expect, test } from 'vitest';
import { boundedRequest, type BoundedRequest, type BoundedResponse } from '../../src/health/bounded-request.js';
import { ManualClock } from '../helpers/manual-clock.js';

// Far beyond any test's real duration: undici's own header/body timeouts (real time) must never be what fires.
const TIMEOUT_MS = 60_000;

let server: http.Server | null = null;
let agent: Agent | null = null;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  await agent?.close();
  server = null;
  agent = null;
});

/** A loopback server answering with `handler`; resolves `arrived` for each request it receives. */
async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; arrived: () => Promise<void> }> {
  let waiting: (() => void) | null = null;
  let count = 0;
  server = http.createServer((req, res) => {
    count++;
    waiting?.();
    handler(req, res);
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const arrived = (): Promise<void> => (count > 0 ? Promise.resolve() : new Promise((r) => (waiting = r)));
  return { url, arrived };
}

function send(clock: ManualClock, req: Partial<BoundedRequest> & { url: string }): Promise<BoundedResponse> {
  agent ??= new Agent();
  return boundedRequest({ timeoutMs: TIMEOUT_MS, maxBodyBytes: 1024, overLimit: 'truncate', ...req }, { clock, dispatcher: agent });
}

test('a GET answers status, body text and the time taken on the injected clock; the deadline timer is cancelled', async () => {
  const clock = new ManualClock();
  const { url } = await serve((req, res) => {
    clock.advance(7);
    res.writeHead(503, { 'content-type': 'application/json' });
    res.end(`{"method":"${req.method}","ready":false}`);
  });
  const r = await send(clock, { url: `${url}/health` });
  expect(r).toEqual({ ok: true, status: 503, body: '{"method":"GET","ready":false}', ms: 7 });
  expect(clock.pending()).toBe(0);
});

test('method, headers and body are sent as given', async () => {
  const clock = new ManualClock();
  const { url } = await serve((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => res.end(JSON.stringify({ method: req.method, url: req.url, type: req.headers['content-type'], n: req.headers['x-n'], body })));
  });
  const r = await send(clock, { url: `${url}/warm`, method: 'POST', headers: { 'content-type': 'application/json', 'x-n': '3' }, body: Buffer.from('{"inputs":[1]}') });
  expect(r.ok && JSON.parse(r.body)).toEqual({ method: 'POST', url: '/warm', type: 'application/json', n: '3', body: '{"inputs":[1]}' });
});

test('a body of exactly maxBodyBytes is read whole', async () => {
  const clock = new ManualClock();
  const { url } = await serve((_req, res) => res.end('x'.repeat(1024)));
  expect(await send(clock, { url, overLimit: 'fail' })).toMatchObject({ ok: true, status: 200, body: 'x'.repeat(1024) });
});

test("overLimit 'truncate': a longer body is cut before the chunk that crossed the limit, and the answer still counts", async () => {
  const clock = new ManualClock();
  const full = Array.from({ length: 4000 }, (_, i) => String(i % 10)).join('').repeat(100);
  const { url } = await serve((_req, res) => res.end(full));
  const r = await send(clock, { url, maxBodyBytes: 64 * 1024 });
  expect(r.ok).toBe(true);
  if (!r.ok) return;
  expect(r.status).toBe(200);
  expect(r.body.length).toBeLessThanOrEqual(64 * 1024);
  expect(r.body.length).toBeGreaterThan(0);
  expect(full.startsWith(r.body)).toBe(true);
  expect(clock.pending()).toBe(0);
});

test("overLimit 'fail': a longer body fails with kind too-large (the status line was seen)", async () => {
  const clock = new ManualClock();
  const { url } = await serve((_req, res) => res.end('y'.repeat(1025)));
  expect(await send(clock, { url, overLimit: 'fail' })).toEqual({
    ok: false,
    status: 200,
    failure: { kind: 'too-large', message: 'body larger than 1024 bytes' },
    ms: 0,
  });
});

test('multi-byte characters split across chunks decode whole', async () => {
  const clock = new ManualClock();
  const bytes = Buffer.from('modèle-é', 'utf8');
  const split = bytes.indexOf(0xa8); // inside "è"
  const { url } = await serve((_req, res) => {
    res.write(bytes.subarray(0, split));
    setTimeout(() => res.end(bytes.subarray(split)), 20);
  });
  expect(await send(clock, { url })).toMatchObject({ ok: true, body: 'modèle-é' });
});

test('no status line before the deadline: kind timeout at exactly timeoutMs on the injected clock', async () => {
  const clock = new ManualClock();
  const { url, arrived } = await serve(() => {}); // never answers
  let settled = false;
  const pending = send(clock, { url, timeoutMs: 20_000 }).finally(() => (settled = true));
  await arrived();
  clock.advance(19_999);
  await new Promise((r) => setTimeout(r, 50));
  expect(settled).toBe(false);
  clock.advance(1);
  expect(await pending).toEqual({ ok: false, status: null, failure: { kind: 'timeout', message: 'timed out after 20000ms' }, ms: 20_000 });
});

test('a body that stalls past the deadline: kind timeout, with the status that came first', async () => {
  const clock = new ManualClock();
  const { url, arrived } = await serve((_req, res) => {
    res.writeHead(200);
    res.write('partial');
  });
  const pending = send(clock, { url, timeoutMs: 5_000 });
  await arrived();
  // Real time for the status line to cross loopback (it takes well under a millisecond) before the deadline passes.
  await new Promise((r) => setTimeout(r, 500));
  clock.advance(5_000);
  expect(await pending).toEqual({ ok: false, status: 200, failure: { kind: 'timeout', message: 'timed out after 5000ms' }, ms: 5_000 });
});

test('a refused connection: kind transport with the system code', async () => {
  const clock = new ManualClock();
  const { url } = await serve(() => {});
  await new Promise<void>((r) => server!.close(() => r()));
  server = null;
  const r = await send(clock, { url });
  expect(r).toMatchObject({ ok: false, status: null, failure: { kind: 'transport', code: 'ECONNREFUSED' } });
  expect(!r.ok && r.failure.message).toMatch(/ECONNREFUSED/);
  expect(clock.pending()).toBe(0);
});

test('never throws, not even for a URL undici refuses', async () => {
  const clock = new ManualClock();
  const r = await send(clock, { url: 'not a url' });
  expect(r).toMatchObject({ ok: false, status: null, failure: { kind: 'transport' } });
  expect(clock.pending()).toBe(0);
});

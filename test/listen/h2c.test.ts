// One cleartext port speaks HTTP/1.1 and h2c with prior knowledge: each HTTP/2 stream is a request through the same
// phases (route, pick, forward, errors) to an HTTP/1.1 backend, with pseudo-headers turned into a proper request.
import http2 from 'node:http2';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { h2connect, h2once, h2request } from '../helpers/h2-client.js';
import { sendRaw } from '../helpers/raw-http.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { onePool } from '../e2e/support.js';

let backend: TestBackend;
let stack: Stack;

beforeAll(async () => {
  backend = await startBackend((req, res, body) => {
    res.writeHead(200, { 'content-type': 'application/json', connection: 'keep-alive', 'keep-alive': 'timeout=5' });
    res.end(JSON.stringify({ method: req.method, url: req.url, host: req.headers.host, length: body.length, proto: req.headers['x-forwarded-proto'] }));
  });
  stack = await startStack(onePool([backend.url]));
});
afterAll(async () => {
  await stack.close();
  await backend.close();
});

test('h2c with prior knowledge: GET and POST reach the HTTP/1.1 backend as ordinary requests', async () => {
  const session = await h2connect(`http://127.0.0.1:${stack.port}`);
  try {
    const get = await h2request(session, { ':path': '/v1/models?x=1', ':authority': 'front.example' });
    expect(get.status).toBe(200);
    expect(JSON.parse(get.body.toString())).toEqual({ method: 'GET', url: '/v1/models?x=1', host: 'front.example', length: 0, proto: 'http' });
    // Hop-by-hop headers from the HTTP/1.1 backend never reach the HTTP/2 client (node:http2 would refuse them).
    expect(get.headers.connection).toBeUndefined();
    expect(get.headers['keep-alive']).toBeUndefined();
    expect(get.headers['x-request-id']).toBeTypeOf('string');
    const post = await h2request(session, { ':path': '/v1/infer', ':authority': 'front.example', 'content-type': 'application/json' }, JSON.stringify({ inputs: [1, 2, 3] }));
    expect(post.status).toBe(200);
    expect(JSON.parse(post.body.toString())).toMatchObject({ method: 'POST', url: '/v1/infer', length: 18 });
    // Many streams on one connection.
    const many = await Promise.all(Array.from({ length: 20 }, (_, i) => h2request(session, { ':path': `/m/${i}`, ':authority': 'a' })));
    expect(many.map((r) => r.status)).toEqual(Array(20).fill(200));
  } finally {
    session.close();
  }
  const seen = backend.requests.find((r) => r.url === '/v1/models?x=1')!;
  expect(seen.rawHeaders.filter((_, i) => i % 2 === 0).some((n) => n.startsWith(':'))).toBe(false);
});

test('HTTP/1.1 on the same port still works, and the listener advertises its stream limit', async () => {
  const r = await fetch(`${stack.url}/plain`);
  expect(r.status).toBe(200);
  expect(await r.json()).toMatchObject({ url: '/plain' });
  const session = await h2connect(`http://127.0.0.1:${stack.port}`);
  try {
    await h2request(session, { ':path': '/s' });
    expect(session.remoteSettings.maxConcurrentStreams).toBe(128);
    expect(session.remoteSettings.maxHeaderListSize).toBe(16 * 1024);
  } finally {
    session.close();
  }
});

test('an HTTP/2 request that matches no route gets the JSON 404 like HTTP/1.1', async () => {
  const s = await startStack(`
routes:
  - { match: { pathPrefix: /only/ }, pool: p }
${onePool([backend.url])}`);
  try {
    const r = await h2once(`http://127.0.0.1:${s.port}`, { ':path': '/elsewhere' });
    expect(r.status).toBe(404);
    expect(JSON.parse(r.body.toString())).toMatchObject({ error: 'no-route' });
  } finally {
    await s.close();
  }
});

test('with http2: false the HTTP/2 preface is an HTTP/1.1 parse error (505), as before', async () => {
  const s = await startStack(`listen: { address: 127.0.0.1:0, http2: false }\n${onePool([backend.url])}`);
  try {
    const reply = await sendRaw(s.port, 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    expect(reply.responses[0]?.status).toBe(505);
  } finally {
    await s.close();
  }
});

test('a client that resets its stream aborts the upstream request at once', async () => {
  let upstreamClosed: () => void = () => undefined;
  const closed = new Promise<void>((r) => (upstreamClosed = r));
  let started: () => void = () => undefined;
  const began = new Promise<void>((r) => (started = r));
  backend.handle(Object.assign((req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: first\n\n');
    started();
    res.on('close', () => upstreamClosed());
  }, { streaming: true }));
  const session = await h2connect(`http://127.0.0.1:${stack.port}`);
  try {
    const stream = session.request({ ':path': '/stream', ':method': 'GET' });
    stream.on('error', () => undefined);
    await began;
    const t0 = Date.now();
    stream.close(http2.constants.NGHTTP2_CANCEL);
    await closed;
    expect(Date.now() - t0).toBeLessThan(2000);
  } finally {
    session.close();
    backend.handle((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ url: req.url }));
    });
  }
});

test('flow control: an HTTP/2 client that stops reading holds the backend back (bounded buffering)', async () => {
  const CHUNK = Buffer.alloc(64 * 1024, 'x');
  let written = 0;
  let stopWriting = false;
  backend.handle(Object.assign((_req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    const pump = (): void => {
      while (!stopWriting && written < 256 * 1024 * 1024) {
        written += CHUNK.length;
        if (!res.write(CHUNK)) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    pump();
  }, { streaming: true }));
  const session = await h2connect(`http://127.0.0.1:${stack.port}`);
  try {
    const stream = session.request({ ':path': '/big', ':method': 'GET' });
    stream.on('error', () => undefined);
    await new Promise<void>((r) => stream.once('response', () => r()));
    stream.pause(); // reads nothing more: the HTTP/2 window fills, then infergate's socket buffer, then the backend's
    await new Promise((r) => setTimeout(r, 1500));
    const held = written;
    await new Promise((r) => setTimeout(r, 500));
    // Without backpressure the backend would have written all 256 MB by now.
    expect(held).toBeLessThan(32 * 1024 * 1024);
    expect(written - held).toBeLessThan(4 * 1024 * 1024);
    stream.resume();
    stopWriting = true;
    stream.close(http2.constants.NGHTTP2_CANCEL);
  } finally {
    session.close();
    backend.handle((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ url: req.url }));
    });
  }
});

test('a header block over maxHeaderSize (16kb) is refused and never forwarded', async () => {
  const session = await h2connect(`http://127.0.0.1:${stack.port}`);
  session.on('error', () => undefined);
  try {
    const r = await h2request(session, { ':path': '/huge-header', 'x-big': 'a'.repeat(20 * 1024) }).catch(() => ({ status: 0 }));
    expect([0, 431]).toContain(r.status);
  } catch {
    // the session may be torn down: also a refusal
  } finally {
    session.destroy();
  }
  expect(backend.requests.some((q) => q.url === '/huge-header')).toBe(false);
});

test('HTTP/2 cookie crumbs reach an HTTP/1.1 backend as one Cookie header (RFC 9113 §8.2.3)', async () => {
  const r = await h2once(`http://127.0.0.1:${stack.port}`, { ':path': '/cookies', cookie: ['a=1', 'b=2'] });
  expect(r.status).toBe(200);
  const seen = backend.requests.find((q) => q.url === '/cookies')!;
  expect(seen.rawHeaders.filter((_, i) => i % 2 === 0 && seen.rawHeaders[i]!.toLowerCase() === 'cookie')).toHaveLength(1);
  expect(seen.headers.cookie).toBe('a=1; b=2');
});

test('the connection window is opened wide (a large upload is not capped at 64 KiB per round trip)', async () => {
  const session = await h2connect(`http://127.0.0.1:${stack.port}`);
  try {
    await h2request(session, { ':path': '/w' });
    expect(session.state.remoteWindowSize).toBeGreaterThanOrEqual(8 * 1024 * 1024 - 64 * 1024);
  } finally {
    session.close();
  }
});

test('a response the backend cuts after its head ends the HTTP/2 stream with INTERNAL_ERROR, not a clean end', async () => {
  backend.handle(Object.assign((_req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: 1\n\n');
    setTimeout(() => res.socket?.destroy(), 100);
  }, { streaming: true }));
  const session = await h2connect(`http://127.0.0.1:${stack.port}`);
  try {
    const stream = session.request({ ':path': '/cut', ':method': 'GET' });
    stream.on('error', () => undefined);
    stream.resume();
    const code = await new Promise<number>((resolve) => stream.once('close', () => resolve(stream.rstCode ?? -1)));
    expect(code).toBe(http2.constants.NGHTTP2_INTERNAL_ERROR);
  } finally {
    session.close();
    backend.handle((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ url: req.url }));
    });
  }
});

test('an h2c client that hangs up (TCP close, no RST_STREAM) mid-request aborts the upstream request and is logged 499', async () => {
  let upstreamClosed: () => void = () => undefined;
  const closed = new Promise<void>((r) => (upstreamClosed = r));
  let arrived: () => void = () => undefined;
  const began = new Promise<void>((r) => (arrived = r));
  backend.handle(Object.assign((_req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
    // A model still in prefill: no answer yet.
    arrived();
    res.on('close', () => upstreamClosed());
  }, { streaming: true }));
  const session = await h2connect(`http://127.0.0.1:${stack.port}`);
  try {
    const stream = session.request({ ':path': '/hangup', ':method': 'GET' });
    stream.on('error', () => undefined);
    await began;
    const t0 = Date.now();
    session.socket.destroy();
    await closed;
    expect(Date.now() - t0).toBeLessThan(2000);
    const line = await stack.waitForLog((l) => l.kind === 'access' && l.path === '/hangup');
    expect(line.status).toBe(499);
    // Read when the request arrived: the stream's socket is gone by the end.
    expect(line.peer).toBe('127.0.0.1');
  } finally {
    session.destroy();
    backend.handle((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ url: req.url }));
    });
  }
});

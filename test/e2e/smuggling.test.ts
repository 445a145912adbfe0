// Request-smuggling corpus: ambiguous or forbidden HTTP/1.x sent over raw sockets to the running proxy, and backends that answer with broken framing.

import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackend, streaming } from '../helpers/backend.js';
import { sendRaw, startRawBackend, type RawBackend } from '../helpers/raw-http.js';
import { startStack } from '../helpers/stack.js';

/**
 * `{u}` in `raw` becomes this case's unique path (`/c/<name>`), so the backend log shows exactly
 * which case, if any, got through. `by` says who rejects it on Node 24: llhttp itself (the server's
 * 'clientError' -> onClientError) or src/proxy/strict.ts checkRequest.
 */
interface RejectedCase {
  name: string;
  raw: string;
  expectStatus: number;
  by: 'node' | 'strict';
  /**
   * Node emits 'request' before it finds the error in the body: the head is streamed on (a chunked body is
   * not buffered), so whether it reaches the backend before the abort is a race; the request never completes.
   */
  bodyError?: true;
  /** What a bare node:http server on Node 24 emits for this case, in order (see the last describe). */
  llhttp: readonly NodeEvent[];
}

type NodeEvent = 'request' | 'clientError';

const H = 'Host: localhost\r\n';
const CHUNKED_BODY = '3\r\nabc\r\n0\r\n\r\n';

/**
 * Node 24's llhttp: a 'node' case is a 'clientError' (after 'request' when the error is in the body); a 'strict'
 * case is a plain 'request' unless `llhttp` says what else Node does with it (the rest of the bytes).
 */
function rejected(name: string, raw: string, expectStatus: number, by: 'node' | 'strict', opts: { bodyError?: true; llhttp?: NodeEvent[] } = {}): RejectedCase {
  const llhttp: NodeEvent[] = opts.llhttp ?? (by === 'strict' ? ['request'] : opts.bodyError ? ['request', 'clientError'] : ['clientError']);
  return { name, raw, expectStatus, by, llhttp, ...(opts.bodyError ? { bodyError: opts.bodyError } : {}) };
}

/** Node takes the head, then fails on the body it frames by Transfer-Encoding (which strict.ts refuses first). */
const THEN_BODY_ERROR: { llhttp: NodeEvent[] } = { llhttp: ['request', 'clientError'] };
const BODY_ERROR = { bodyError: true } as const;

export const REJECTED: RejectedCase[] = [
  // --- Content-Length / Transfer-Encoding framing ---
  rejected('cl-then-te', `POST {u} HTTP/1.1\r\n${H}Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n${CHUNKED_BODY}`, 400, 'node'),
  rejected('te-then-cl', `POST {u} HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n${CHUNKED_BODY}`, 400, 'node'),
  rejected('cl-te-smuggled-get', `POST {u} HTTP/1.1\r\n${H}Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET {u}/smuggled HTTP/1.1\r\n${H}\r\n`, 400, 'node'),
  rejected('te-http10', `POST {u} HTTP/1.0\r\n${H}Transfer-Encoding: chunked\r\n\r\n${CHUNKED_BODY}`, 400, 'strict'),
  rejected('te-http10-smuggled-get', `POST {u} HTTP/1.0\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET {u}/smuggled HTTP/1.1\r\n${H}\r\n`, 400, 'strict', THEN_BODY_ERROR),
  rejected('te-xchunked', `POST {u} HTTP/1.1\r\n${H}Transfer-Encoding: xchunked\r\n\r\n${CHUNKED_BODY}`, 501, 'strict', THEN_BODY_ERROR),
  rejected('te-identity', `POST {u} HTTP/1.1\r\n${H}Transfer-Encoding: identity\r\n\r\n`, 501, 'strict', THEN_BODY_ERROR),
  rejected('te-gzip-chunked', `POST {u} HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n${CHUNKED_BODY}`, 501, 'strict'),
  rejected('te-comma-chunked', `POST {u} HTTP/1.1\r\n${H}Transfer-Encoding: ,chunked\r\n\r\n${CHUNKED_BODY}`, 501, 'strict'),
  rejected('te-quoted-chunked', `POST {u} HTTP/1.1\r\n${H}Transfer-Encoding: "chunked"\r\n\r\n${CHUNKED_BODY}`, 501, 'strict', THEN_BODY_ERROR),
  rejected('te-chunked-param', `POST {u} HTTP/1.1\r\n${H}Transfer-Encoding: chunked;q=1\r\n\r\n${CHUNKED_BODY}`, 501, 'strict', THEN_BODY_ERROR),
  rejected('te-chunked-not-last', `POST {u} HTTP/1.1\r\n${H}Transfer-Encoding: chunked, gzip\r\n\r\n${CHUNKED_BODY}`, 501, 'node'),
  rejected('te-empty', `POST {u} HTTP/1.1\r\n${H}Transfer-Encoding: \r\n\r\n`, 501, 'node'),
  rejected('te-duplicate', `POST {u} HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n${CHUNKED_BODY}`, 400, 'node'),
  rejected('te-duplicate-gzip-then-chunked', `POST {u} HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n${CHUNKED_BODY}`, 400, 'strict'),
  rejected('te-space-before-colon', `POST {u} HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\nContent-Length: 3\r\n\r\nabc`, 400, 'node'),
  rejected('te-obs-fold', `POST {u} HTTP/1.1\r\n${H}Transfer-Encoding:\r\n chunked\r\n\r\n${CHUNKED_BODY}`, 400, 'node'),
  rejected('te-vertical-tab', `POST {u} HTTP/1.1\r\n${H}Transfer-Encoding: \x0bchunked\r\n\r\n${CHUNKED_BODY}`, 400, 'node'),
  rejected('cl-duplicate-equal', `POST {u} HTTP/1.1\r\n${H}Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc`, 400, 'node'),
  rejected('cl-duplicate-different', `POST {u} HTTP/1.1\r\n${H}Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd`, 400, 'node'),
  rejected('cl-list', `POST {u} HTTP/1.1\r\n${H}Content-Length: 3, 3\r\n\r\nabc`, 400, 'node'),
  rejected('cl-plus-sign', `POST {u} HTTP/1.1\r\n${H}Content-Length: +3\r\n\r\nabc`, 400, 'node'),
  rejected('cl-negative', `POST {u} HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\nabc`, 400, 'node'),
  rejected('cl-overflow', `POST {u} HTTP/1.1\r\n${H}Content-Length: 99999999999999999999999\r\n\r\nabc`, 400, 'node'),
  // --- chunked body syntax (Node finds these after 'request' was emitted) ---
  rejected('chunk-size-not-hex', `POST {u} HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n`, 400, 'node', BODY_ERROR),
  rejected('chunk-size-0x', `POST {u} HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0x3\r\nabc\r\n0\r\n\r\n`, 400, 'node', BODY_ERROR),
  rejected('chunk-size-overflow', `POST {u} HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFF\r\nabc\r\n0\r\n\r\n`, 400, 'node', BODY_ERROR),
  rejected('chunk-ext-control-char', `POST {u} HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3;a=\x01\r\nabc\r\n0\r\n\r\n`, 400, 'node', BODY_ERROR),
  rejected('chunk-ext-bare-lf', `POST {u} HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3;a\nb\r\nabc\r\n0\r\n\r\n`, 400, 'node', BODY_ERROR),
  rejected('chunk-data-overrun', `POST {u} HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n0\r\n\r\n`, 400, 'node', BODY_ERROR),
  rejected('chunk-bare-lf', `POST {u} HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\nabc\n0\n\n`, 400, 'node', BODY_ERROR),
  // Larger than the body the proxy keeps for replay (64 KiB), so the head is streamed on before the error.
  rejected('chunk-error-after-large-body', `POST {u} HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n18000\r\n${'a'.repeat(0x18000)}\r\nzz\r\n0\r\n\r\n`, 400, 'node', BODY_ERROR),
  rejected('chunk-trailer-content-length', `POST {u} HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nContent-Length: 5\r\n\r\n`, 400, 'node', BODY_ERROR),
  // --- Host and request target ---
  rejected('host-duplicate', `GET {u} HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\n\r\n`, 400, 'strict'),
  rejected('host-duplicate-same', `GET {u} HTTP/1.1\r\nHost: localhost\r\nhost: localhost\r\n\r\n`, 400, 'strict'),
  rejected('host-missing-http11', `GET {u} HTTP/1.1\r\n\r\n`, 400, 'strict'),
  rejected('host-empty', `GET {u} HTTP/1.1\r\nHost: \r\n\r\n`, 400, 'strict'),
  rejected('host-with-space', `GET {u} HTTP/1.1\r\nHost: local host\r\n\r\n`, 400, 'strict'),
  rejected('host-with-slash', `GET {u} HTTP/1.1\r\nHost: localhost/evil\r\n\r\n`, 400, 'strict'),
  rejected('host-bad-port', `GET {u} HTTP/1.1\r\nHost: localhost:99999\r\n\r\n`, 400, 'strict'),
  rejected('absolute-form-other-host', `GET http://evil.example{u} HTTP/1.1\r\n${H}\r\n`, 400, 'strict'),
  rejected('absolute-form-userinfo', `GET http://user@localhost{u} HTTP/1.1\r\n${H}\r\n`, 400, 'strict'),
  rejected('absolute-form-ftp', `GET ftp://localhost{u} HTTP/1.1\r\n${H}\r\n`, 400, 'strict'),
  rejected('asterisk-form-get', `GET * HTTP/1.1\r\n${H}X-Case: {u}\r\n\r\n`, 400, 'strict'),
  rejected('uri-fragment', `GET {u}#frag HTTP/1.1\r\n${H}\r\n`, 400, 'strict'),
  rejected('uri-space', `GET {u} x HTTP/1.1\r\n${H}\r\n`, 400, 'node'),
  rejected('uri-control-char', `GET {u}\x01 HTTP/1.1\r\n${H}\r\n`, 400, 'node'),
  // --- header syntax ---
  rejected('header-name-space', `GET {u} HTTP/1.1\r\n${H}X Y: z\r\n\r\n`, 400, 'node'),
  rejected('header-name-nul', `GET {u} HTTP/1.1\r\n${H}X\x00Y: z\r\n\r\n`, 400, 'node'),
  rejected('header-value-nul', `GET {u} HTTP/1.1\r\n${H}X: a\x00b\r\n\r\n`, 400, 'node'),
  rejected('header-value-bare-cr', `GET {u} HTTP/1.1\r\n${H}X: a\rb\r\n\r\n`, 400, 'node'),
  rejected('header-value-bare-lf', `GET {u} HTTP/1.1\r\n${H}X: a\nTransfer-Encoding: chunked\r\n\r\n`, 400, 'node'),
  rejected('header-obs-fold', `GET {u} HTTP/1.1\r\n${H}X: a\r\n b\r\n\r\n`, 400, 'node'),
  rejected('header-no-colon', `GET {u} HTTP/1.1\r\n${H}XY\r\n\r\n`, 400, 'node'),
  rejected('header-duplicate-authorization', `GET {u} HTTP/1.1\r\n${H}Authorization: Bearer a\r\nAuthorization: Bearer b\r\n\r\n`, 400, 'strict'),
  rejected('header-too-large', `GET {u} HTTP/1.1\r\n${H}X-Big: ${'a'.repeat(20000)}\r\n\r\n`, 431, 'node'),
  // --- method and version ---
  rejected('method-lower-case', `get {u} HTTP/1.1\r\n${H}\r\n`, 400, 'node'),
  rejected('method-bad-char', `G(T {u} HTTP/1.1\r\n${H}\r\n`, 400, 'node'),
  rejected('method-unknown', `FOO {u} HTTP/1.1\r\n${H}\r\n`, 501, 'node'),
  rejected('method-trace', `TRACE {u} HTTP/1.1\r\n${H}\r\n`, 405, 'strict'),
  rejected('method-connect', `CONNECT localhost:443 HTTP/1.1\r\nHost: localhost:443\r\nX-Case: {u}\r\n\r\n`, 405, 'strict'),
  rejected('version-2.0', `GET {u} HTTP/2.0\r\n${H}\r\n`, 505, 'strict'),
  rejected('version-3.0', `GET {u} HTTP/3.0\r\n${H}\r\n`, 505, 'node'),
  rejected('version-1.2', `GET {u} HTTP/1.2\r\n${H}\r\n`, 400, 'node'),
  rejected('version-0.9', `GET {u}\r\n\r\n`, 400, 'strict'),
  rejected('version-lower-case', `GET {u} http/1.1\r\n${H}\r\n`, 400, 'node'),
  // The HTTP/2 preface is h2c with prior knowledge now (test/listen/h2c.test.ts); with http2: false it is refused with 505 there.
  // --- what follows a rejected request on the same connection is never forwarded ---
  rejected('pipelined-after-rejected', `GET {u} HTTP/1.1\r\nHost: localhost\r\nHost: b\r\n\r\nGET {u}/smuggled HTTP/1.1\r\n${H}\r\n`, 400, 'strict', { llhttp: ['request', 'request'] }),
];

interface AcceptedCase {
  name: string;
  raw: string;
  expectStatuses: number[];
}

/** Positive controls: must reach the backend and answer 200 (the last request asks to close). */
export const ACCEPTED: AcceptedCase[] = [
  { name: 'ok-content-length-post', raw: `POST {u} HTTP/1.1\r\n${H}Connection: close\r\nContent-Length: 3\r\n\r\nabc`, expectStatuses: [200] },
  { name: 'ok-chunked-post', raw: `POST {u} HTTP/1.1\r\n${H}Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n0\r\n\r\n`, expectStatuses: [200] },
  { name: 'ok-chunked-upper-case', raw: `POST {u} HTTP/1.1\r\n${H}Connection: close\r\nTransfer-Encoding: Chunked\r\n\r\n${CHUNKED_BODY}`, expectStatuses: [200] },
  // RFC 9110 5.5: surrounding whitespace is not part of a field value; Node and nginx both trim it.
  { name: 'ok-chunked-trailing-ows', raw: `POST {u} HTTP/1.1\r\n${H}Connection: close\r\nTransfer-Encoding: chunked \r\n\r\n${CHUNKED_BODY}`, expectStatuses: [200] },
  { name: 'ok-keep-alive-two', raw: `GET {u} HTTP/1.1\r\n${H}\r\nGET {u}/second HTTP/1.1\r\n${H}Connection: close\r\n\r\n`, expectStatuses: [200, 200] },
  { name: 'ok-absolute-form-same-host', raw: `GET http://localhost{u} HTTP/1.1\r\n${H}Connection: close\r\n\r\n`, expectStatuses: [200] },
  { name: 'ok-http10-without-host', raw: `GET {u} HTTP/1.0\r\n\r\n`, expectStatuses: [200] },
  { name: 'ok-obs-text-value', raw: `GET {u} HTTP/1.1\r\n${H}X-Name: caf\xe9\r\nConnection: close\r\n\r\n`, expectStatuses: [200] },
];

/**
 * A backend answering each `/bad/<name>` with these exact bytes; none of them may reach the client as a clean
 * response. `client` is what the client gets on Node 24: a 502, or (framing errors inside the body) the head,
 * already streamed on, and then a close before the body is complete.
 */
const BAD_BACKEND: Array<{ name: string; bytes: string; client: 502 | 'head-then-cut' }> = [
  { name: 'cl-and-te', bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n', client: 502 },
  { name: 'te-and-cl', bytes: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n', client: 502 },
  { name: 'cl-duplicate-different', bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd', client: 502 },
  { name: 'cl-not-a-number', bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 3x\r\n\r\nabc', client: 502 },
  { name: 'status-line-garbage', bytes: 'hello world\r\n\r\n', client: 502 },
  { name: 'status-four-digits', bytes: 'HTTP/1.1 2000 OK\r\nContent-Length: 3\r\n\r\nabc', client: 502 },
  { name: 'header-value-nul', bytes: 'HTTP/1.1 200 OK\r\nX: a\x00b\r\nContent-Length: 3\r\n\r\nabc', client: 502 },
  { name: 'header-bare-lf', bytes: 'HTTP/1.1 200 OK\r\nX: a\nContent-Length: 3\r\n\r\nabc', client: 502 },
  { name: 'header-obs-fold', bytes: 'HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 3\r\n\r\nabc', client: 502 },
  // Framing errors inside the body: infergate streams, so the head is on its way to the client already.
  { name: 'chunk-size-not-hex', bytes: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n', client: 'head-then-cut' },
  { name: 'chunk-data-overrun', bytes: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n0\r\n\r\n', client: 'head-then-cut' },
];

function withPath(raw: string, name: string): string {
  return raw.replaceAll('{u}', `/c/${name}`);
}

/** A URL the backend saw belongs to case `name`: its path, or a request smuggled behind it (`/c/<name>/...`). */
function ofCase(url: string, name: string): boolean {
  const path = `/c/${name}`;
  return url === path || url.startsWith(`${path}/`) || url.startsWith(`${path}?`);
}

/** Heads the backend may have seen of a rejected case: one, when the error is in a streamed body; else none. */
const headsAllowed = (c: RejectedCase): number => (c.bodyError ? 1 : 0);

describe('request smuggling corpus (raw sockets against the proxy)', () => {
  let backend: Awaited<ReturnType<typeof startBackend>>;
  let rawBackend: RawBackend;
  let stack: Awaited<ReturnType<typeof startStack>>;
  /** URLs whose body the backend read to the end: a request that was forwarded whole. */
  const completed: string[] = [];

  beforeAll(async () => {
    // Streaming: the helper records a request as soon as its head arrives, before any body.
    backend = await startBackend(
      streaming((req: IncomingMessage, res: ServerResponse) => {
        req.resume();
        req.on('end', () => {
          completed.push(req.url ?? '');
          res.end('ok');
        });
      }),
    );
    rawBackend = await startRawBackend((head) => {
      const path = /^[A-Z]+ (\S+)/.exec(head)?.[1] ?? '';
      const bad = BAD_BACKEND.find((c) => path === `/bad/${c.name}`);
      if (bad) return { bytes: bad.bytes, keepOpen: true };
      return { bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', keepOpen: true };
    });
    stack = await startStack(`
routes:
  - match: { pathPrefix: /bad/ }
    pool: bad
  - match: {}
    pool: main
pools:
  main:
    health: { readiness: { path: /health, interval: 200ms, healthyThreshold: 1 } }
    backends: [${backend.url}]
  bad:
    retry: { attempts: 1 }
    health: { readiness: { path: /health, interval: 200ms, healthyThreshold: 1 } }
    backends: [${rawBackend.url}]
`);
  });

  afterAll(async () => {
    await stack?.close();
    await backend?.close();
    await rawBackend?.close();
  });

  /** Requests of case `name` whose head reached the backend, and those whose body it read to the end. */
  const seen = (name: string): string[] => backend.requests.map((r) => r.url).filter((u) => ofCase(u, name));
  const done = (name: string): string[] => completed.filter((u) => ofCase(u, name));

  it('has at least 30 rejected cases and the positive controls', () => {
    expect(REJECTED.length).toBeGreaterThanOrEqual(30);
    expect(new Set(REJECTED.map((c) => c.name)).size).toBe(REJECTED.length);
  });

  it.each(ACCEPTED)('accepts $name', async (c) => {
    const reply = await sendRaw(stack.port, withPath(c.raw, c.name));
    expect(reply.timedOut).toBe(false);
    expect(reply.responses.map((r) => r.status)).toEqual(c.expectStatuses);
    expect(reply.closedByServer).toBe(true);
    expect(done(c.name)).toHaveLength(c.expectStatuses.length);
  });

  it('sends absolute-form upstream in origin-form, as nginx does', async () => {
    const reply = await sendRaw(stack.port, `GET http://localhost/c/absolute-origin-form?q=1 HTTP/1.1\r\n${H}Connection: close\r\n\r\n`);
    expect(reply.status).toBe(200);
    expect(seen('absolute-origin-form')).toEqual(['/c/absolute-origin-form?q=1']);
  });

  it.each(REJECTED)('rejects $name with $expectStatus (caught by $by)', async (c) => {
    const reply = await sendRaw(stack.port, withPath(c.raw, c.name));
    expect(reply.timedOut).toBe(false);
    expect(reply.status).toBe(c.expectStatus);
    expect(reply.responses).toHaveLength(1);
    expect(reply.responses[0]?.headers).toContainEqual(['connection', 'close']);
    expect(reply.closedByServer).toBe(true);
    // Never forwarded whole; at most the head of a streamed body that turned out broken, and nothing behind it.
    expect(done(c.name)).toEqual([]);
    expect(seen(c.name).length).toBeLessThanOrEqual(headsAllowed(c));
  });

  it.each(BAD_BACKEND)('answers a backend response with $name as a gateway error ($client) and drops that connection', async (c) => {
    const before = rawBackend.requests.length;
    const reply = await sendRaw(stack.port, `GET /bad/${c.name} HTTP/1.1\r\n${H}Connection: close\r\n\r\n`);
    expect(reply.timedOut).toBe(false);
    expect(reply.closedByServer).toBe(true);
    // 'head-then-cut': the backend's 200 head, then the close; never a complete, clean response.
    expect(reply.status).toBe(c.client === 502 ? 502 : 200);
    expect(reply.responses.map((r) => r.status)).toEqual(c.client === 502 ? [502] : []);
    const served = rawBackend.requests.slice(before).find((r) => r.line.startsWith(`GET /bad/${c.name} `));
    expect(served).toBeDefined();
    // The backend kept its side open: only the proxy can have closed this connection.
    await rawBackend.connectionClosed(served!.connection);
  });

  it('answers a valid request, then a 400 for garbage pipelined behind it, in order (as nginx does)', async () => {
    const reply = await sendRaw(stack.port, `GET /c/pipelined-ok HTTP/1.1\r\n${H}\r\nGET /c/pipelined-bad HTTP/1.1\r\nHost: localhost\r\nX\x00: y\r\n\r\n`);
    expect(reply.timedOut).toBe(false);
    expect(reply.responses.map((r) => r.status)).toEqual([200, 400]);
    expect(reply.closedByServer).toBe(true);
    expect(seen('pipelined-ok')).toHaveLength(1);
    expect(seen('pipelined-bad')).toEqual([]);
  });

  it('forwards none of the rejected requests, even after a final request on a fresh connection', async () => {
    // Its own copies of the corpus (own paths), so this holds whichever tests ran before it.
    const again = (c: RejectedCase): string => `again-${c.name}`;
    const replies = await Promise.all(REJECTED.map((c) => sendRaw(stack.port, withPath(c.raw, again(c)))));
    expect(replies.map((r) => r.status)).toEqual(REJECTED.map((c) => c.expectStatus));
    const reply = await sendRaw(stack.port, `GET /c/sentinel HTTP/1.1\r\n${H}Connection: close\r\n\r\n`);
    expect(reply.status).toBe(200);
    expect(done('sentinel')).toEqual(['/c/sentinel']);
    expect(REJECTED.filter((c) => done(again(c)).length > 0).map((c) => c.name)).toEqual([]);
    expect(REJECTED.filter((c) => seen(again(c)).length > headsAllowed(c)).map((c) => c.name)).toEqual([]);
    expect(backend.requests.filter((r) => r.url.includes('smuggled')).map((r) => r.url)).toEqual([]);
  });
});

/**
 * Measures what Node's own parser (llhttp, Node 24) does with each corpus case, on a bare node:http server
 * with the options infergate uses, against the case's `llhttp`: 'node' cases end in 'clientError' (after
 * 'request' only when the error is in the body), 'strict' cases reach the request handler and need strict.ts
 * (some then fail on a body Node frames by their Transfer-Encoding). A Node upgrade that changes any of this
 * fails here, naming the case.
 */
describe("Node's own parser on the rejected cases (who catches what)", () => {
  let server: http.Server;
  let port: number;
  const events: string[] = [];

  beforeAll(async () => {
    server = http.createServer({ requireHostHeader: false, joinDuplicateHeaders: false, insecureHTTPParser: false }, (req, res) => {
      events.push('request');
      req.on('error', () => {});
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    server.on('connect', (_req: IncomingMessage, socket) => {
      events.push('request');
      socket.destroy();
    });
    server.on('clientError', (_err, socket) => {
      events.push('clientError');
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it.each(REJECTED)('$name is caught by $by: Node emits $llhttp', async (c) => {
    events.length = 0;
    // Half-close after sending: a head that Node accepts is then answered and the server closes.
    const reply = await sendRaw(port, withPath(c.raw, c.name), { endAfterWrite: true });
    expect(reply.timedOut).toBe(false);
    expect(events).toEqual(c.llhttp);
  });
});

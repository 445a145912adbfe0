// The HTTP/2 request-smuggling family, sent as raw frames to the h2c listener: every malformed request is refused
// (RST_STREAM / GOAWAY by node:http2's nghttp2, or infergate's own 400/405) and none reaches the backend; the
// well-formed controls are answered. HTTP/1.1's corpus is test/e2e/smuggling.test.ts.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { onePool } from '../e2e/support.js';
import { END_HEADERS, END_STREAM, FrameType, exchangeFrames, frame, hpack, outcome } from './h2-frames.js';

let backend: TestBackend;
let stack: Stack;

beforeAll(async () => {
  backend = await startBackend();
  stack = await startStack(onePool([backend.url]));
});
afterAll(async () => {
  await stack.close();
  await backend.close();
});

type H = Array<[string, string]>;
const base = (path: string, method = 'GET'): H => [[':method', method], [':scheme', 'http'], [':authority', 'front.example'], [':path', path]];

interface Case {
  name: string;
  headers: H;
  /** DATA frames after the headers (the last one ends the stream); none = END_STREAM on HEADERS. */
  data?: string[];
  /**
   * refused: RST_STREAM / GOAWAY; dropped: no answer at all (node:http2 cannot build the request); stripped: answered
   * without the invalid field (checked on the backend's side below); else the status.
   */
  expect: 'refused' | 'dropped' | 'stripped' | number;
}

const CASES: Case[] = [
  // pseudo-header misuse
  { name: 'pseudo-header after a regular one', headers: [[':method', 'GET'], [':scheme', 'http'], ['x-a', '1'], [':path', '/p1'], [':authority', 'a']], expect: 'refused' },
  { name: 'duplicate :path', headers: [...base('/p2'), [':path', '/other']], expect: 'refused' },
  { name: 'missing :method', headers: base('/p3').slice(1), expect: 'refused' },
  { name: 'missing :path', headers: base('/p4').slice(0, 3), expect: 'refused' },
  { name: 'empty :path', headers: base(''), expect: 'refused' },
  { name: 'unknown pseudo-header', headers: [...base('/p6'), [':proto', 'x']], expect: 'refused' },
  { name: 'response pseudo-header in a request', headers: [...base('/p7'), [':status', '200']], expect: 'refused' },
  // connection-specific headers (RFC 9113 §8.2.2)
  { name: 'connection header', headers: [...base('/p8'), ['connection', 'keep-alive']], expect: 'refused' },
  { name: 'transfer-encoding: chunked', headers: [...base('/p9', 'POST'), ['transfer-encoding', 'chunked']], data: ['5\r\nhello\r\n0\r\n\r\n'], expect: 'refused' },
  { name: 'te other than trailers', headers: [...base('/p10'), ['te', 'gzip']], expect: 'refused' },
  { name: 'upgrade header', headers: [...base('/p11'), ['upgrade', 'h2c']], expect: 'refused' },
  { name: 'keep-alive header', headers: [...base('/p12'), ['keep-alive', 'timeout=5']], expect: 'refused' },
  { name: 'proxy-connection header', headers: [...base('/p13'), ['proxy-connection', 'keep-alive']], expect: 'refused' },
  // field syntax: nghttp2 drops an invalid field (name or value) before the request exists, as nginx's
  // ignore_invalid_headers does: the request goes on without it, and the injection never reaches the HTTP/1.1 hop
  // (asserted below on what the backend received). strict.ts would refuse them with 400 should they ever get through.
  { name: 'upper-case header name', headers: [...base('/p14'), ['X-Upper', '1']], expect: 'refused' },
  { name: 'CR LF in a value (header injection on the HTTP/1.1 hop)', headers: [...base('/s15'), ['x-a', 'b\r\ntransfer-encoding: chunked']], expect: 'stripped' },
  { name: 'LF in a value', headers: [...base('/s16'), ['x-a', 'b\nx-injected: 1']], expect: 'stripped' },
  { name: 'NUL in a value', headers: [...base('/s17'), ['x-a', 'b\u0000c']], expect: 'stripped' },
  { name: 'space in a name', headers: [...base('/s18'), ['x a', '1']], expect: 'stripped' },
  { name: 'colon in a name', headers: [...base('/s19'), ['x:a', '1']], expect: 'stripped' },
  { name: 'leading space in a value', headers: [...base('/s20'), ['x-a', ' padded']], expect: 'stripped' },
  // body framing: content-length must agree with DATA (the HTTP/1.1 hop would otherwise be desynchronised)
  { name: 'content-length smaller than DATA (smuggled request after it)', headers: [...base('/p21', 'POST'), ['content-length', '0']], data: ['GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n'], expect: 'refused' },
  { name: 'content-length larger than DATA', headers: [...base('/p22', 'POST'), ['content-length', '100']], data: ['short'], expect: 'refused' },
  { name: 'two content-length values', headers: [...base('/p23', 'POST'), ['content-length', '5'], ['content-length', '6']], data: ['hello'], expect: 'refused' },
  { name: 'non-numeric content-length', headers: [...base('/p24', 'POST'), ['content-length', '5x']], data: ['hello'], expect: 'refused' },
  // infergate's own policy, answered on the stream (the connection stays usable)
  { name: ':authority and host disagreeing', headers: [...base('/p25'), ['host', 'evil.example']], expect: 400 },
  { name: 'two host headers', headers: [...base('/p26'), ['host', 'front.example'], ['host', 'front.example']], expect: 'dropped' },
  { name: 'fragment in :path', headers: base('/p27#frag'), expect: 400 },
  { name: 'TRACE', headers: base('/p28', 'TRACE'), expect: -1 /* 405: a literal, not in the static table */ },
  // controls: well-formed requests are answered
  { name: 'control: GET', headers: base('/ok1'), expect: 200 },
  { name: 'control: te: trailers is allowed', headers: [...base('/ok2'), ['te', 'trailers']], expect: 200 },
  { name: 'control: POST with a matching content-length', headers: [...base('/ok3', 'POST'), ['content-length', '5']], data: ['hello'], expect: 200 },
  { name: 'control: POST without content-length', headers: base('/ok4', 'POST'), data: ['hel', 'lo'], expect: 200 },
];

test.each(CASES)('$name', async (c) => {
  const frames = [frame(FrameType.HEADERS, END_HEADERS | (c.data === undefined ? END_STREAM : 0), 1, hpack(c.headers))];
  c.data?.forEach((d, i) => frames.push(frame(FrameType.DATA, i === c.data!.length - 1 ? END_STREAM : 0, 1, Buffer.from(d, 'latin1'))));
  const got = outcome(await exchangeFrames(stack.port, frames));
  if (c.expect === 'refused') expect(got).toEqual({ refused: true, status: null });
  else if (c.expect === 'dropped') expect(got.status).toBeNull();
  else if (c.expect === 'stripped') expect(got.status).toBe(200);
  else expect(got.status).toBe(c.expect);
});

test('none of the refused or rejected requests reached the backend; the controls did', () => {
  const paths = backend.requests.map((r) => r.url);
  expect(paths.filter((p) => p.startsWith('/p') || p.includes('smuggled'))).toEqual([]);
  expect(paths.filter((p) => p.startsWith('/ok')).sort()).toEqual(['/ok1', '/ok2', '/ok3', '/ok4']);
  // The stripped ones arrived without the invalid field and without anything injected through it.
  const stripped = backend.requests.filter((r) => r.url.startsWith('/s'));
  expect(stripped.map((r) => r.url).sort()).toEqual(['/s15', '/s16', '/s17', '/s18', '/s19', '/s20']);
  for (const r of stripped) {
    const names = r.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    expect(names).not.toContain('x-a');
    expect(names).not.toContain('x-injected');
    expect(names).not.toContain('transfer-encoding');
    expect(r.rawHeaders.join('\n')).not.toMatch(/[\r\0]/);
  }
  const ok4 = backend.requests.find((r) => r.url === '/ok4')!;
  expect(ok4.body.toString()).toBe('hello');
});

test('strict.ts refuses an invalid field should node:http2 ever pass one through (defence in depth)', async () => {
  const { checkRequest } = await import('../../src/proxy/strict.js');
  const req = (raw: string[]): never => ({ stream: {}, httpVersionMajor: 2, method: 'GET', url: '/', rawHeaders: [':authority', 'a', ...raw], headers: {} }) as never;
  expect(checkRequest(req(['x-a', 'b\r\nx-injected: 1']))?.code).toBe('invalid-header');
  expect(checkRequest(req(['x-a', 'b\u0000']))?.code).toBe('invalid-header');
  expect(checkRequest(req(['x-a', ' lead']))?.code).toBe('invalid-header');
  expect(checkRequest(req(['X-Upper', '1']))?.code).toBe('invalid-header');
  expect(checkRequest(req(['x a', '1']))?.code).toBe('invalid-header');
  expect(checkRequest(req(['x-a', 'fine value']))).toBeNull();
});

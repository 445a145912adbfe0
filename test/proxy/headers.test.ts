// headers.ts in isolation: the upstream header list and the cleaned response headers.
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { expect, test } from 'vitest';
import { responseHeaderList, upstreamRequestHeaders } from '../../src/proxy/headers.js';

/** A request as node:http hands it over: raw headers, the parsed object, and the peer address. */
function fakeRequest(raw: string[], remoteAddress = '192.0.2.10'): IncomingMessage {
  const headers: IncomingHttpHeaders = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const prev = headers[name];
    headers[name] = prev === undefined ? raw[i + 1]! : `${String(prev)}, ${raw[i + 1]!}`;
  }
  return { rawHeaders: raw, headers, socket: { remoteAddress } } as unknown as IncomingMessage;
}

function pairs(flat: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!.toLowerCase(), flat[i + 1]!]);
  return out;
}

test('keeps end-to-end headers in order and duplicates, drops hop-by-hop ones and those Connection names', () => {
  const req = fakeRequest([
    'Host', 'api.example', 'Connection', 'keep-alive, X-Secret', 'X-Secret', 's', 'Accept', 'a/b',
    'Set-Thing', '1', 'Set-Thing', '2', 'Keep-Alive', '5', 'TE', 'trailers', 'Trailer', 'x', 'Upgrade', 'y',
    'Transfer-Encoding', 'chunked', 'Proxy-Authorization', 'p', 'Proxy-Connection', 'c', 'Proxy-X', 'z', 'Expect', '100-continue',
  ]);
  const out = pairs(upstreamRequestHeaders(req, { requestId: 'rid', hostOverride: null }));
  expect(out).toEqual([
    ['accept', 'a/b'],
    ['set-thing', '1'],
    ['set-thing', '2'],
    ['x-forwarded-for', '192.0.2.10'],
    ['x-real-ip', '192.0.2.10'],
    ['x-forwarded-proto', 'http'],
    ['x-forwarded-host', 'api.example'],
    ['x-request-id', 'rid'],
    ['host', 'api.example'],
  ]);
});

test('X-Forwarded-For lines are joined and the peer appended; client forwarded proto/host/request id replaced', () => {
  const req = fakeRequest(['Host', 'h', 'X-Forwarded-For', '203.0.113.1', 'x-forwarded-for', '198.51.100.2', 'X-Forwarded-Proto', 'https', 'X-Forwarded-Host', 'evil', 'X-Request-Id', 'client'], '::1');
  const out = pairs(upstreamRequestHeaders(req, { requestId: 'chosen', hostOverride: 'models.internal' }));
  expect(out).toEqual([
    ['x-forwarded-for', '203.0.113.1, 198.51.100.2, ::1'],
    ['x-real-ip', '::1'],
    ['x-forwarded-proto', 'http'],
    ['x-forwarded-host', 'h'],
    ['x-request-id', 'chosen'],
    ['host', 'models.internal'],
  ]);
});

test('no Host (HTTP/1.0): no X-Forwarded-Host and no Host unless the pool sets one', () => {
  const out = pairs(upstreamRequestHeaders(fakeRequest([]), { requestId: 'r', hostOverride: null }));
  expect(out.map(([n]) => n)).toEqual(['x-forwarded-for', 'x-real-ip', 'x-forwarded-proto', 'x-request-id']);
});

test('response list: hop-by-hop and Connection-named headers dropped, order and repeated values kept, our id last', () => {
  const headers: IncomingHttpHeaders = {
    'content-type': 'text/plain', connection: 'close, X-Internal', 'x-internal': '1', 'keep-alive': 'timeout=5',
    'transfer-encoding': 'chunked', trailer: 'x', upgrade: 'h2c', 'proxy-authenticate': 'Basic', 'proxy-foo': 'f',
    'set-cookie': ['a=1', 'b=2'], 'x-request-id': 'backend-id', 'content-length': '3',
  };
  const before = structuredClone(headers);
  expect(responseHeaderList(headers, 'rid', false)).toEqual([
    'content-type', 'text/plain', 'set-cookie', ['a=1', 'b=2'], 'content-length', '3', 'x-request-id', 'rid',
  ]);
  expect(headers).toEqual(before); // undici's object is left alone
});

test('response list: the usual Connection values name nothing; draining adds connection: close', () => {
  for (const connection of ['keep-alive', 'Keep-Alive', 'close', 'Close', 'keep-alive, Upgrade']) {
    const list = responseHeaderList({ connection, 'keep-alive': 'timeout=5', date: 'd', upgrade: 'x' }, 'r', false);
    expect(list).toEqual(['date', 'd', 'x-request-id', 'r']);
  }
  expect(responseHeaderList({ date: 'd' }, 'r', true)).toEqual(['date', 'd', 'x-request-id', 'r', 'connection', 'close']);
});

test('request: a Connection header naming a header that is also sent drops it, in any letter case', () => {
  const req = fakeRequest(['Host', 'h', 'Connection', 'Keep-Alive, x-hop', 'X-Hop', '1', 'Accept', '*/*']);
  const out = pairs(upstreamRequestHeaders(req, { requestId: 'r', hostOverride: null }));
  expect(out.map(([n]) => n)).toEqual(['accept', 'x-forwarded-for', 'x-real-ip', 'x-forwarded-proto', 'x-forwarded-host', 'x-request-id', 'host']);
});

test('X-Real-IP is always ours: the resolved client (trusted peer) or the peer; the client\'s own is dropped', () => {
  const req = fakeRequest(['Host', 'h', 'X-Real-IP', '6.6.6.6', 'X-Forwarded-For', '198.51.100.20'], '10.0.0.2');
  const untrusted = pairs(upstreamRequestHeaders(req, { requestId: 'r', hostOverride: null, client: '10.0.0.2', peerTrusted: false }));
  expect(untrusted.filter(([n]) => n === 'x-real-ip')).toEqual([['x-real-ip', '10.0.0.2']]);
  expect(untrusted.find(([n]) => n === 'x-forwarded-for')).toEqual(['x-forwarded-for', '198.51.100.20, 10.0.0.2']);
  const trusted = pairs(upstreamRequestHeaders(req, { requestId: 'r', hostOverride: null, client: '198.51.100.20', peerTrusted: true }));
  expect(trusted.filter(([n]) => n === 'x-real-ip')).toEqual([['x-real-ip', '198.51.100.20']]);
  // X-Forwarded-For is appended to either way: the right-most entry is the peer we saw.
  expect(trusted.find(([n]) => n === 'x-forwarded-for')).toEqual(['x-forwarded-for', '198.51.100.20, 10.0.0.2']);
});

test('Forwarded (RFC 7239) passes only from a trusted peer', () => {
  const req = fakeRequest(['Host', 'h', 'Forwarded', 'for=6.6.6.6;proto=https'], '10.0.0.2');
  const from = (peerTrusted: boolean): Array<[string, string]> =>
    pairs(upstreamRequestHeaders(req, { requestId: 'r', hostOverride: null, peerTrusted })).filter(([n]) => n === 'forwarded');
  expect(from(false)).toEqual([]);
  expect(from(true)).toEqual([['forwarded', 'for=6.6.6.6;proto=https']]);
});

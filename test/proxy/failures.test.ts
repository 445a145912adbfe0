// failures.ts: one table of failure kinds, and the classification of undici errors into it.
import { expect, test } from 'vitest';
import { errorBody } from '../../src/proxy/error-body.js';
import { Failures, classifyUpstreamError, resetBeforeReading } from '../../src/proxy/failures.js';

test.each([
  ['ECONNREFUSED', 'connect-refused', 502],
  ['UND_ERR_CONNECT_TIMEOUT', 'connect-timeout', 504],
  ['UND_ERR_HEADERS_TIMEOUT', 'first-byte-timeout', 504],
  ['UND_ERR_BODY_TIMEOUT', 'idle-timeout', 504],
  ['UND_ERR_SOCKET', 'upstream-reset', 502],
  ['INFERGATE_H2_REFUSED_STREAM', 'stream-refused', 503],
  ['ECONNRESET', 'upstream-reset', 502],
  ['HPE_INVALID_CONSTANT', 'invalid-response', 502],
  ['UND_ERR_RES_CONTENT_LENGTH_MISMATCH', 'invalid-response', 502],
  ['UND_ERR_INVALID_ARG', 'unforwardable-request', 400],
  ['EMFILE', 'local-resources', 503],
  ['EADDRNOTAVAIL', 'local-resources', 503],
  ['SOMETHING_ELSE', 'upstream-error', 502],
])('%s -> %s (%d)', (code, kind, status) => {
  const failure = classifyUpstreamError(Object.assign(new Error('x'), { code }));
  expect(failure.code).toBe(kind);
  expect(failure.status).toBe(status);
});

test('a reset before any response byte: what it proves about the request', () => {
  const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', syscall: 'read' });
  const pipe = Object.assign(new Error('write EPIPE'), { code: 'EPIPE', syscall: 'write' });
  // A TCP reset raised by the socket (undici passes it through) on a fresh connection: a candidate, proven by a refused
  // connect (forward.ts); on a reused one, the keep-alive race.
  expect(resetBeforeReading(reset, false)).toBe(Failures.resetUnread);
  expect(resetBeforeReading(pipe, false)).toBe(Failures.resetUnread);
  expect(resetBeforeReading(reset, true)).toBe(Failures.keepAliveRace);
  // undici's "other side closed" (a FIN): on a reused connection, the keep-alive race ...
  const closed = (bytesRead: number) => Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET', socket: { bytesRead } });
  expect(resetBeforeReading(closed(0), true)).toBe(Failures.keepAliveRace);
  // ... on a fresh one, nothing is proven: the server may have read the request and died — even after part of a
  // response head (bytes read on a fresh connection are this response's).
  expect(resetBeforeReading(closed(0), false)).toBeNull();
  expect(resetBeforeReading(closed(12), false)).toBeNull();
  // Other errors on a reused connection (a parser error, a timeout) are not the race.
  expect(resetBeforeReading(Object.assign(new Error('x'), { code: 'UND_ERR_HEADERS_TIMEOUT' }), true)).toBeNull();
  // An ECONNRESET code without the socket's syscall is not the kernel's word.
  expect(resetBeforeReading(Object.assign(new Error('x'), { code: 'ECONNRESET' }), false)).toBeNull();
  expect(resetBeforeReading(null, true)).toBeNull();
});

test('errors without a code fall back to upstream-error; parser errors by name are invalid responses', () => {
  expect(classifyUpstreamError(new Error('x'))).toBe(Failures.upstreamError);
  expect(classifyUpstreamError(null)).toBe(Failures.upstreamError);
  expect(classifyUpstreamError(Object.assign(new Error('x'), { name: 'HTTPParserError' }))).toBe(Failures.invalidResponse);
});

test('only failures before any response byte that the backend may not have acted on are retryable', () => {
  const retryable = Object.values(Failures).filter((f) => f.retryable).map((f) => f.code).sort();
  // upstream-unavailable: the backend answered a retry.onStatus status (503 while reloading), so it did not act on the request.
  // upstream-reset three times: a close before any answer, the keep-alive race on a reused connection, and a TCP reset
  // of a request the backend never read.
  // stream-refused: an HTTP/2 REFUSED_STREAM, not processed by definition (RFC 9113 8.7).
  expect(retryable).toEqual(['connect-refused', 'connect-timeout', 'stream-refused', 'upstream-reset', 'upstream-reset', 'upstream-reset', 'upstream-unavailable']);
});

test('only failures that provably never reached the model are retried whatever the method', () => {
  const safe = Object.entries(Failures).filter(([, f]) => f.notProcessed).map(([k]) => k).sort();
  // localResources: our own connect() failed (EMFILE ...), the backend was never asked.
  expect(safe).toEqual(['connectRefused', 'connectTimeout', 'keepAliveRace', 'localResources', 'resetUnread', 'streamRefused', 'upstreamUnavailable']);
});

test('downstream and internal failures are never held against a backend', () => {
  for (const f of Object.values(Failures)) if (f.source !== 'upstream') expect(f.outcome, f.code).toBeNull();
});

test('the JSON body carries the code, a message and the request id, escaped', () => {
  const body = JSON.parse(errorBody(Failures.noRoute, 'id"with\\quote')) as Record<string, unknown>;
  expect(body).toEqual({ error: 'no-route', message: Failures.noRoute.message, requestId: 'id"with\\quote' });
});

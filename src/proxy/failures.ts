// One table of every way a request can fail — code -> HTTP status, source, retryable, what it says about the backend —
// for the proxy, the strict request checks, WebSocket upgrades and the admin API alike.

export type FailureSource = 'upstream' | 'downstream' | 'internal';

/** What a failed attempt tells passive health (outlier detection): a gateway error, or nothing about the backend. */
export type FailureOutcome = 'gateway-error' | null;

export interface FailureKind {
  /** Short stable kebab-case code: logs, metric labels and the JSON error body. */
  readonly code: string;
  readonly status: number;
  readonly source: FailureSource;
  /** May the request be sent to another backend (before any response byte reached the client)? */
  readonly retryable: boolean;
  /**
   * The request provably never reached the model (no connection, or the server said it cannot serve before any
   * byte): retried for every method. Otherwise retry.methods decides (the backend may have acted on it).
   */
  readonly notProcessed: boolean;
  /** Counts as a gateway error against the backend (connect failure, reset, timeout) for outlier detection and EWMA. */
  readonly outcome: FailureOutcome;
  readonly message: string;
}

function kind(code: string, status: number, source: FailureSource, retryable: boolean, outcome: FailureOutcome, message: string, notProcessed = false): FailureKind {
  return Object.freeze({ code, status, source, retryable, notProcessed, outcome, message });
}

const GW = 'gateway-error';

export const Failures = {
  connectRefused: kind('connect-refused', 502, 'upstream', true, GW, 'backend refused the connection', true),
  connectTimeout: kind('connect-timeout', 504, 'upstream', true, GW, 'timed out connecting to the backend', true),
  upstreamReset: kind('upstream-reset', 502, 'upstream', true, GW, 'backend closed the connection before answering'),
  /**
   * The keep-alive race: a reused connection closed by the backend before any response byte — the server closed an
   * idle connection (shutdown, its idle timeout) as the request arrived, so it never handled it. Retried once on a new
   * connection for every method, as browsers do; a reset on a fresh connection stays `upstreamReset`.
   */
  keepAliveRace: kind('upstream-reset', 502, 'upstream', true, GW, 'backend closed a kept-alive connection as the request arrived', true),
  /**
   * An HTTP/1.1 backend reset the connection before any response byte and nobody listens at its address any more
   * (forward.ts asks with one connect): a server that stops listening resets the connections still in its accept
   * queue, unread; one that read the request and then died closes with FIN instead (RFC 1122 4.2.2.13: only a close
   * with data unread is a reset). Retried on another backend for every method, within `attempts` and the budget.
   */
  resetUnread: kind('upstream-reset', 502, 'upstream', true, GW, 'backend reset the connection without reading the request', true),
  /**
   * An HTTP/2 backend reset the stream with REFUSED_STREAM before answering: not processed (RFC 9113 8.7; also streams
   * above a GOAWAY's last one). Counted against the backend as a 503 is: an instant refusal must not look like the
   * fastest backend to least-request (a black hole) nor escape ejection.
   */
  streamRefused: kind('stream-refused', 503, 'upstream', true, GW, 'backend refused the HTTP/2 stream before processing it', true),
  invalidResponse: kind('invalid-response', 502, 'upstream', false, GW, 'backend sent an invalid HTTP response'),
  firstByteTimeout: kind('first-byte-timeout', 504, 'upstream', false, GW, 'backend did not answer within the first-byte timeout'),
  idleTimeout: kind('idle-timeout', 504, 'upstream', false, GW, 'backend stalled longer than the idle timeout'),
  totalTimeout: kind('total-timeout', 504, 'upstream', false, GW, 'request exceeded the total timeout'),
  upstreamError: kind('upstream-error', 502, 'upstream', false, GW, 'error talking to the backend'),
  /** The backend answered a status listed in retry.onStatus (e.g. 503 while its model reloads). */
  upstreamUnavailable: kind('upstream-unavailable', 503, 'upstream', true, GW, 'backend answered that it cannot serve now (e.g. its model is reloading)', true),
  noReadyBackend: kind('no-ready-backend', 503, 'internal', false, null, 'no backend is ready to take this request'),
  queueFull: kind('queue-full', 503, 'internal', false, null, 'no backend is ready and the wait queue is full'),
  queueTimeout: kind('queue-timeout', 503, 'internal', false, null, 'no backend became ready within the queue timeout'),
  /** Every backend that could take it is past its overload thresholds, and the request's priority says shed (overload/). */
  overloaded: kind('overloaded', 503, 'internal', false, null, 'every backend is past its load thresholds; try again later'),
  noRoute: kind('no-route', 404, 'internal', false, null, 'no route matches this request'),
  bodyTooLarge: kind('body-too-large', 413, 'downstream', false, null, 'request body is larger than the pool allows'),
  clientClosed: kind('client-closed', 499, 'downstream', false, null, 'client closed the connection'),
  unforwardable: kind('unforwardable-request', 400, 'downstream', false, null, 'request cannot be forwarded to a backend'),
  clientBodyError: kind('client-body-error', 400, 'downstream', false, null, 'error reading the request body'),
  /** The client sent its body too slowly (requestBody.idle / minRate), as nginx's client_body_timeout answers 408. */
  clientBodyTimeout: kind('client-body-timeout', 408, 'downstream', false, null, 'the request body was not received in time'),
  /** requestBody.bufferTotal is reached: the memory for bodies read ahead is spent for now. */
  bodyBufferFull: kind('body-buffer-full', 503, 'internal', false, null, 'too many request bodies are being read at once; try again'),
  shuttingDown: kind('shutting-down', 503, 'internal', false, null, 'infergate is shutting down'),
  /** Our side ran out (EMFILE, ENOBUFS, no free local port): not the backend's fault, so nothing counts against it. */
  localResources: kind('local-resources', 503, 'internal', false, null, 'infergate is out of local resources (file descriptors, ports or buffers)', true),
  internal: kind('internal-error', 500, 'internal', false, null, 'internal error'),
} as const satisfies Record<string, FailureKind>;

const rejected = (status: number, code: string, message: string): FailureKind => kind(code, status, 'downstream', false, null, message);

/** Malformed requests, refused before routing with the status nginx gives (proxy/strict.ts decides which). */
export const Rejections = {
  connectionClosing: rejected(400, 'connection-closing', 'request pipelined after a rejected request on the same connection'),
  http09: rejected(400, 'invalid-version', 'HTTP/0.9 requests are not supported'),
  versionNotSupported: rejected(505, 'http-version-not-supported', 'only HTTP/1.0 and HTTP/1.1 are served on this listener'),
  invalidVersion: rejected(400, 'invalid-version', 'invalid HTTP version'),
  trace: rejected(405, 'trace-not-allowed', 'TRACE is not allowed'),
  connect: rejected(405, 'connect-not-allowed', 'CONNECT is not allowed: infergate is not a forward proxy'),
  duplicateHost: rejected(400, 'duplicate-host', 'more than one Host header'),
  duplicateContentLength: rejected(400, 'duplicate-content-length', 'more than one Content-Length header'),
  duplicateTransferEncoding: rejected(400, 'duplicate-transfer-encoding', 'more than one Transfer-Encoding header'),
  duplicateHeader: rejected(400, 'duplicate-header', 'a header that must be unique was sent twice'),
  missingHost: rejected(400, 'missing-host', 'HTTP/1.1 request without a Host header'),
  missingAuthority: rejected(400, 'missing-host', 'HTTP/2 request without :authority or Host'),
  authorityMismatch: rejected(400, 'host-mismatch', 'HTTP/2 request whose Host header differs from :authority'),
  invalidHost: rejected(400, 'invalid-host', 'invalid Host header'),
  invalidContentLength: rejected(400, 'invalid-content-length', 'Content-Length is not a decimal number'),
  teHttp10: rejected(400, 'te-http10', 'Transfer-Encoding on an HTTP/1.0 request'),
  teWithCl: rejected(400, 'te-with-cl', 'both Content-Length and Transfer-Encoding'),
  unknownTe: rejected(501, 'unknown-transfer-encoding', 'Transfer-Encoding other than chunked'),
  invalidUri: rejected(400, 'invalid-uri', 'invalid request target'),
  userinfo: rejected(400, 'userinfo-in-uri', 'request target carries userinfo'),
  hostMismatch: rejected(400, 'host-mismatch', 'absolute-form request target names another host than the Host header'),
  headerTooLarge: rejected(431, 'header-too-large', 'request header fields too large'),
  invalidChunk: rejected(400, 'invalid-chunk', 'invalid chunked body'),
  requestTimeout: rejected(408, 'request-timeout', 'the request was not received in time'),
  unknownMethod: rejected(501, 'unknown-method', 'method not implemented'),
  invalidMethod: rejected(400, 'invalid-method', 'invalid method'),
  invalidRequestLine: rejected(400, 'invalid-request-line', 'invalid request line'),
  invalidHeader: rejected(400, 'invalid-header', 'invalid header'),
  badRequest: rejected(400, 'bad-request', 'malformed request'),
} as const satisfies Record<string, FailureKind>;

const byUndiciCode: Record<string, FailureKind> = {
  ECONNREFUSED: Failures.connectRefused,
  EHOSTUNREACH: Failures.connectRefused,
  ENETUNREACH: Failures.connectRefused,
  // Raised on our side of connect(): the backend was never asked (health/local-failure.ts lists the same codes).
  EADDRNOTAVAIL: Failures.localResources,
  EADDRINUSE: Failures.localResources,
  EMFILE: Failures.localResources,
  ENFILE: Failures.localResources,
  ENOBUFS: Failures.localResources,
  ENOMEM: Failures.localResources,
  ENOTFOUND: Failures.connectRefused,
  EAI_AGAIN: Failures.connectRefused,
  UND_ERR_CONNECT_TIMEOUT: Failures.connectTimeout,
  ETIMEDOUT: Failures.connectTimeout,
  UND_ERR_HEADERS_TIMEOUT: Failures.firstByteTimeout,
  UND_ERR_BODY_TIMEOUT: Failures.idleTimeout,
  UND_ERR_SOCKET: Failures.upstreamReset,
  INFERGATE_H2_REFUSED_STREAM: Failures.streamRefused,
  ECONNRESET: Failures.upstreamReset,
  EPIPE: Failures.upstreamReset,
  UND_ERR_CLOSED: Failures.upstreamReset,
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: Failures.invalidResponse,
  UND_ERR_HEADERS_OVERFLOW: Failures.invalidResponse,
  // undici refused the request before sending it (e.g. `OPTIONS *`): nothing the backend did.
  UND_ERR_INVALID_ARG: Failures.unforwardable,
  UND_ERR_NOT_SUPPORTED: Failures.unforwardable,
  UND_ERR_RES_EXCEEDED_MAX_SIZE: Failures.invalidResponse,
};

/**
 * The reason infergate itself gives when it aborts an upstream request (client gone, total timeout, body too
 * large, a retryable status): the failure travels with the abort, so classification needs no private classes.
 */
export class ProxyAbort extends Error {
  readonly failure: FailureKind;
  constructor(failure: FailureKind) {
    super(failure.message);
    this.failure = failure;
  }
}

/**
 * What an upstream reset before any response byte says about an HTTP/1.1 request (HTTP/2 multiplexes: a reset of the
 * connection says nothing about one stream), given whether the request went on a reused connection (`reused`, known
 * from connect-timing.ts):
 * - on a reused connection, a close or a TCP reset is the keep-alive race (`keepAliveRace`) — the rule browsers apply;
 * - on a fresh one, a TCP reset (ECONNRESET or EPIPE raised by the socket itself, `syscall` set: undici passes the
 *   socket's error through) is `resetUnread` — a candidate, proven only if the listener is gone too (forward.ts);
 * - else null: a close on a fresh connection may come from a server that read the request and died.
 */
export function resetBeforeReading(err: unknown, reused: boolean): FailureKind | null {
  const e = err as { code?: unknown; syscall?: unknown } | null;
  if (e === null || typeof e !== 'object') return null;
  const tcpReset = (e.code === 'ECONNRESET' || e.code === 'EPIPE') && typeof e.syscall === 'string';
  if (reused) return tcpReset || e.code === 'UND_ERR_SOCKET' ? Failures.keepAliveRace : null;
  return tcpReset ? Failures.resetUnread : null;
}

/** Classify an error raised while talking to a backend (undici, or http-proxy for WebSocket upgrades). */
export function classifyUpstreamError(err: unknown, otherwise: FailureKind = Failures.upstreamError): FailureKind {
  if (err instanceof ProxyAbort) return err.failure;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    const known = byUndiciCode[code];
    if (known) return known;
    if (code.startsWith('HPE_')) return Failures.invalidResponse;
  }
  const name = (err as { name?: unknown } | null)?.name;
  if (name === 'HTTPParserError') return Failures.invalidResponse;
  return otherwise;
}

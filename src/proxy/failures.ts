// One table of every way a request can fail: code -> HTTP status, source, retryable, outlier input.

export type FailureSource = 'upstream' | 'downstream' | 'internal';

export interface FailureKind {
  readonly code: string;
  readonly status: number;
  readonly source: FailureSource;
  /** May the request be sent to another backend (before any response byte reached the client)? */
  readonly retryable: boolean;
  /** Counts as a gateway error against the backend (connect failure, reset, timeout). */
  readonly gatewayError: boolean;
  readonly message: string;
}

function kind(code: string, status: number, source: FailureSource, retryable: boolean, gatewayError: boolean, message: string): FailureKind {
  return Object.freeze({ code, status, source, retryable, gatewayError, message });
}

export const Failures = {
  connectRefused: kind('connect-refused', 502, 'upstream', true, true, 'backend refused the connection'),
  connectTimeout: kind('connect-timeout', 504, 'upstream', true, true, 'timed out connecting to the backend'),
  upstreamReset: kind('upstream-reset', 502, 'upstream', true, true, 'backend closed the connection before answering'),
  invalidResponse: kind('invalid-response', 502, 'upstream', false, true, 'backend sent an invalid HTTP response'),
  firstByteTimeout: kind('first-byte-timeout', 504, 'upstream', false, true, 'backend did not answer within the first-byte timeout'),
  idleTimeout: kind('idle-timeout', 504, 'upstream', false, true, 'backend stalled longer than the idle timeout'),
  totalTimeout: kind('total-timeout', 504, 'upstream', false, true, 'request exceeded the total timeout'),
  upstreamError: kind('upstream-error', 502, 'upstream', false, true, 'error talking to the backend'),
  upstreamUnavailable: kind('upstream-unavailable', 503, 'upstream', true, true, 'backend answered that it cannot serve now (e.g. its model is reloading)'),
  noReadyBackend: kind('no-ready-backend', 503, 'internal', false, false, 'no backend is ready to take this request'),
  queueFull: kind('queue-full', 503, 'internal', false, false, 'no backend is ready and the wait queue is full'),
  queueTimeout: kind('queue-timeout', 503, 'internal', false, false, 'no backend became ready within the queue timeout'),
  noRoute: kind('no-route', 404, 'internal', false, false, 'no route matches this request'),
  bodyTooLarge: kind('body-too-large', 413, 'downstream', false, false, 'request body is larger than the pool allows'),
  clientClosed: kind('client-closed', 499, 'downstream', false, false, 'client closed the connection'),
  unforwardable: kind('unforwardable-request', 400, 'downstream', false, false, 'request cannot be forwarded to a backend'),
  clientBodyError: kind('client-body-error', 400, 'downstream', false, false, 'error reading the request body'),
  shuttingDown: kind('shutting-down', 503, 'internal', false, false, 'infergate is shutting down'),
  internal: kind('internal-error', 500, 'internal', false, false, 'internal error'),
} as const satisfies Record<string, FailureKind>;

const byUndiciCode: Record<string, FailureKind> = {
  ECONNREFUSED: Failures.connectRefused,
  EHOSTUNREACH: Failures.connectRefused,
  ENETUNREACH: Failures.connectRefused,
  EADDRNOTAVAIL: Failures.connectRefused,
  ENOTFOUND: Failures.connectRefused,
  EAI_AGAIN: Failures.connectRefused,
  UND_ERR_CONNECT_TIMEOUT: Failures.connectTimeout,
  ETIMEDOUT: Failures.connectTimeout,
  UND_ERR_HEADERS_TIMEOUT: Failures.firstByteTimeout,
  UND_ERR_BODY_TIMEOUT: Failures.idleTimeout,
  UND_ERR_SOCKET: Failures.upstreamReset,
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

/** Classify an error raised by undici while talking to a backend. */
export function classifyUpstreamError(err: unknown): FailureKind {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    const known = byUndiciCode[code];
    if (known) return known;
    if (code.startsWith('HPE_')) return Failures.invalidResponse;
  }
  const name = (err as { name?: unknown } | null)?.name;
  if (name === 'HTTPParserError') return Failures.invalidResponse;
  return Failures.upstreamError;
}

/** The JSON body every failure answers with. */
export function failureBody(failure: FailureKind, requestId: string): string {
  return `{"error":"${failure.code}","message":"${failure.message}","requestId":${JSON.stringify(requestId)}}`;
}

// gRPC seen from the proxy: is a request gRPC, its grpc-timeout, and our failures as gRPC statuses in a trailers-only answer.
//
// From grpc/grpc doc/PROTOCOL-HTTP2.md (content-type application/grpc[+proto|+json|...]; grpc-timeout = at most 8 digits
// and a unit H M S m u n; trailers-only responses carry grpc-status and grpc-message in the header block; grpc-message
// is percent-encoded UTF-8) and doc/http-grpc-status-mapping.md (HTTP status without grpc-status -> gRPC code).
import type { ServerResponse } from 'node:http';
import { isHttp2Response } from './protocol.js';

/** gRPC status codes (google.rpc.Code) used here. */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  DEADLINE_EXCEEDED: 4,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/**
 * A gRPC request: content-type application/grpc, alone or with a +subtype or parameters. gRPC-Web
 * (application/grpc-web...) is another wire format and is not gRPC here.
 */
export function isGrpc(headers: { 'content-type'?: string | string[] | undefined }): boolean {
  const ct = headers['content-type'];
  if (typeof ct !== 'string' || ct.length < 16) return false;
  if (ct.slice(0, 16).toLowerCase() !== 'application/grpc') return false;
  const next = ct.charCodeAt(16);
  // End, '+' (subtype) or ';' (parameters); anything else (application/grpc-web, application/grpcx) is not gRPC.
  return Number.isNaN(next) || next === 0x2b || next === 0x3b;
}

const UNIT_MS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000_001 };

/**
 * grpc-timeout in ms, or null when absent or malformed (the spec's TimeoutValue is 1 to 8 ASCII digits). A sub-ms
 * timeout rounds up to 1 ms, so that only "0" means "already expired".
 */
export function parseGrpcTimeout(value: string | string[] | undefined): number | null {
  if (typeof value !== 'string') return null;
  const m = /^([0-9]{1,8})([HMSmun])$/.exec(value);
  if (m === null) return null;
  return Math.ceil(Number(m[1]) * UNIT_MS[m[2]!]!);
}

/**
 * Our failure codes (proxy/failures.ts) as gRPC statuses. The request never reached a model, or the backend cannot
 * serve now: UNAVAILABLE, which gRPC clients may retry; a timeout after the request was sent: DEADLINE_EXCEEDED;
 * a broken answer: INTERNAL; the client's own doing: CANCELLED, RESOURCE_EXHAUSTED.
 */
const BY_CODE: Readonly<Record<string, number>> = {
  'connect-refused': GrpcStatus.UNAVAILABLE,
  // Nothing was sent: a retry elsewhere is safe, which UNAVAILABLE says and DEADLINE_EXCEEDED does not.
  'connect-timeout': GrpcStatus.UNAVAILABLE,
  'upstream-reset': GrpcStatus.UNAVAILABLE,
  'upstream-unavailable': GrpcStatus.UNAVAILABLE,
  'no-ready-backend': GrpcStatus.UNAVAILABLE,
  'queue-full': GrpcStatus.UNAVAILABLE,
  'queue-timeout': GrpcStatus.UNAVAILABLE,
  'overloaded': GrpcStatus.UNAVAILABLE,
  'shutting-down': GrpcStatus.UNAVAILABLE,
  'first-byte-timeout': GrpcStatus.DEADLINE_EXCEEDED,
  'idle-timeout': GrpcStatus.DEADLINE_EXCEEDED,
  'total-timeout': GrpcStatus.DEADLINE_EXCEEDED,
  'invalid-response': GrpcStatus.INTERNAL,
  'upstream-error': GrpcStatus.INTERNAL,
  'internal-error': GrpcStatus.INTERNAL,
  'no-route': GrpcStatus.UNIMPLEMENTED,
  'body-too-large': GrpcStatus.RESOURCE_EXHAUSTED,
  'header-too-large': GrpcStatus.RESOURCE_EXHAUSTED,
  'client-closed': GrpcStatus.CANCELLED,
  'client-body-timeout': GrpcStatus.DEADLINE_EXCEEDED,
  'body-buffer-full': GrpcStatus.RESOURCE_EXHAUSTED,
  'local-resources': GrpcStatus.UNAVAILABLE,
};

/** Ends a gRPC response whose head already went out with the failure's status in trailers. */
export function endGrpcWithFailure(res: ServerResponse, failure: { readonly code: string; readonly status: number; readonly message: string }): void {
  res.addTrailers({ 'grpc-status': String(grpcStatusFor(failure)), 'grpc-message': encodeGrpcMessage(`${failure.message} (${failure.code})`) });
  res.end();
}

/** setTimeout's largest delay: longer ones fire at once (TimeoutOverflowWarning). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The total time a request gets: the pool's total timeout, or the gRPC client's deadline (grpc-timeout) when that is
 * sooner — past it the client has given up, so the upstream call is cancelled and DEADLINE_EXCEEDED answered.
 * The header itself is forwarded as sent (the backend applies the same deadline).
 */
export function requestDeadlineMs(poolTotalMs: number, headers: { 'content-type'?: string | string[] | undefined; 'grpc-timeout'?: string | string[] | undefined }): number {
  if (headers['grpc-timeout'] === undefined || !isGrpc(headers)) return poolTotalMs;
  const grpcMs = parseGrpcTimeout(headers['grpc-timeout']);
  if (grpcMs === null) return poolTotalMs;
  // 0 (already expired) still arms a timer; beyond what a timer holds (~24.8 days) is as good as none.
  const ms = Math.min(Math.max(grpcMs, 1), MAX_TIMER_MS);
  return poolTotalMs > 0 ? Math.min(poolTotalMs, ms) : ms;
}

/** gRPC's HTTP-to-gRPC mapping, for an HTTP status that comes without grpc-status (a backend's or one of ours). */
export function grpcStatusForHttp(status: number): number {
  switch (status) {
    case 200:
      // A 200 without grpc-status is a broken gRPC answer, not a success.
      return GrpcStatus.UNKNOWN;
    case 400:
      return GrpcStatus.INTERNAL;
    case 401:
      return GrpcStatus.UNAUTHENTICATED;
    case 403:
      return GrpcStatus.PERMISSION_DENIED;
    case 404:
      return GrpcStatus.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return GrpcStatus.UNAVAILABLE;
    default:
      return GrpcStatus.UNKNOWN;
  }
}

/** The gRPC status for one of our failures: by its code, else by its HTTP status as gRPC maps those. */
export function grpcStatusFor(failure: { readonly code: string; readonly status: number }): number {
  return BY_CODE[failure.code] ?? grpcStatusForHttp(failure.status);
}

/** grpc-message encoding: UTF-8 bytes outside printable ASCII, and '%' itself, as %XX. */
export function encodeGrpcMessage(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * A gRPC-shaped failure: HTTP 200, content-type application/grpc, no body, grpc-status and grpc-message in the header
 * block (a trailers-only response), and our x-request-id. `close` adds connection: close on HTTP/1.x only (HTTP/2
 * forbids the header). `then` runs once the answer is flushed.
 */
export function writeGrpcFailure(res: ServerResponse, failure: { readonly code: string; readonly status: number; readonly message: string }, requestId: string, close: boolean, then?: () => void): void {
  const status = { 'grpc-status': String(grpcStatusFor(failure)), 'grpc-message': encodeGrpcMessage(`${failure.message} (${failure.code})`) };
  if (isHttp2Response(res)) {
    // node:http2's compatibility response always sends its head without END_STREAM (it waits for trailers), so a
    // status in the head would not be a trailers-only answer: clients ignore it. The status goes in trailers.
    res.writeHead(200, { 'content-type': 'application/grpc', 'x-request-id': requestId });
    res.addTrailers(status);
    if (then === undefined) res.end();
    else res.end(then);
    return;
  }
  const headers: Record<string, string> = { 'content-type': 'application/grpc', ...status, 'x-request-id': requestId };
  if (close && res.req?.httpVersionMajor === 1) headers.connection = 'close';
  res.writeHead(200, headers);
  if (then === undefined) res.end();
  else res.end(then);
}

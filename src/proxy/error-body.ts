// The one writer of JSON error answers: the proxy, strict checks, WebSocket refusals and the admin API all answer through it.
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { FailureKind } from './failures.js';
import { isHttp2Response } from './protocol.js';
import { isGrpc, writeGrpcFailure } from './grpc.js';

/** An error as the JSON body names it: a stable code and a sentence. */
export interface ErrorLike {
  readonly code: string;
  readonly message: string;
}

const RETRY_AFTER_SECONDS = '1';

/** `{"error": code, "message": ..., "requestId": ...}` plus any extra fields (admin adds context). */
export function errorBody(error: ErrorLike, requestId: string | null = null, extra?: Record<string, unknown>): string {
  let body = `{"error":${JSON.stringify(error.code)},"message":${JSON.stringify(error.message)}`;
  if (requestId !== null) body += `,"requestId":${JSON.stringify(requestId)}`;
  if (extra !== undefined) for (const [k, v] of Object.entries(extra)) body += `,${JSON.stringify(k)}:${JSON.stringify(v)}`;
  return `${body}}`;
}

/**
 * Answer a failure on a response whose headers are not sent yet; 503s carry Retry-After. `then` runs once it is flushed.
 * A gRPC request (read from the request this response answers) gets a gRPC-shaped answer instead: HTTP 200 with
 * grpc-status and grpc-message, which is what gRPC clients read (a JSON body would be a protocol error to them).
 */
export function writeFailure(res: ServerResponse, failure: FailureKind, requestId: string, close: boolean, then?: () => void): void {
  // gRPC is HTTP/2 only: an HTTP/1.1 request claiming it (a rejected smuggling attempt, say) gets the plain error status.
  if (res.req !== undefined && isHttp2Response(res) && isGrpc(res.req.headers)) {
    writeGrpcFailure(res, failure, requestId, close, then);
    return;
  }
  const body = errorBody(failure, requestId);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    'x-request-id': requestId,
  };
  if (failure.status === 503) headers['retry-after'] = RETRY_AFTER_SECONDS;
  // HTTP/2 has no Connection header (node:http2 throws on it): a draining session gets GOAWAY instead.
  if (close && !isHttp2Response(res)) headers.connection = 'close';
  res.writeHead(failure.status, headers);
  if (then === undefined) res.end(body);
  else res.end(body, then);
}

/** A whole HTTP/1.1 error response as text, for raw sockets (parse errors, refused upgrades); always closes. */
export function rawFailure(failure: FailureKind, requestId: string | null = null): string {
  const body = errorBody(failure, requestId);
  let head = `HTTP/1.1 ${failure.status} ${STATUS_CODES[failure.status] ?? 'Error'}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`;
  if (requestId !== null) head += `X-Request-Id: ${requestId}\r\n`;
  if (failure.status === 503) head += `Retry-After: ${RETRY_AFTER_SECONDS}\r\n`;
  return `${head}\r\n${body}`;
}

/** A JSON answer of the admin API (errors go through errorBody, so they look like every other error). */
export function writeJson(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

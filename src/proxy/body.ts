// The request body policy: refuse what is too large, read small bodies whole before a backend is picked (nginx's
// proxy_request_buffering: a slow upload holds memory, never a backend connection; the body is replayable), stream the rest.
import type { IncomingMessage } from 'node:http';
import type { Clock } from '../clock.js';
import type { PoolConfig, RequestBodyConfig } from '../config/types.js';
import { BodyPace } from './body-pace.js';
import { Failures, type FailureKind } from './failures.js';
import { isGrpc } from './grpc.js';
import { isHttp2Request } from './protocol.js';

/**
 * `buffer`: read ahead before a backend is picked. `length` is the announced Content-Length, or -1 for a chunked body,
 * which is read ahead up to `limit` bytes and streams (what was read first) if it turns out larger.
 */
export type BodyPlan =
  | { readonly kind: 'none' }
  | { readonly kind: 'stream' }
  | { readonly kind: 'too-large' }
  | { readonly kind: 'buffer'; readonly length: number; readonly limit: number };

const NONE: BodyPlan = { kind: 'none' };
const STREAM: BodyPlan = { kind: 'stream' };
const TOO_LARGE: BodyPlan = { kind: 'too-large' };

export function planBody(req: IncomingMessage, cfg: PoolConfig): BodyPlan {
  const cl = req.headers['content-length'];
  const length = cl === undefined ? -1 : Number(cl);
  let chunked = req.headers['transfer-encoding'] !== undefined;
  if (cfg.maxBodyBytes > 0 && length > cfg.maxBodyBytes) return TOO_LARGE;
  if (length < 0 && isHttp2Request(req)) {
    // HTTP/2 frames its body in DATA frames: no Content-Length says nothing; only END_STREAM on the headers means none.
    if ((req as unknown as { stream: { endAfterHeaders: boolean } }).stream.endAfterHeaders) return NONE;
    // A gRPC call streams both ways: reading its messages ahead would wait for a client that waits for answers.
    if (isGrpc(req.headers)) return STREAM;
    // Otherwise a body of unknown length, read ahead as a chunked one is.
    chunked = true;
  }
  if (length <= 0 && !chunked) return NONE;
  // Any method: a request that never reached the model (refused, a 503 from a loading server) is retried whatever
  // its method, and only a kept body can be sent again — so retry.bufferBody keeps bodies whole too.
  const limit = Math.max(cfg.requestBody.bufferBytes, cfg.retry.attempts > 1 ? cfg.retry.bufferBodyBytes : 0);
  if (chunked) return limit > 0 ? { kind: 'buffer', length: -1, limit } : STREAM;
  return length <= limit ? { kind: 'buffer', length, limit: length } : STREAM;
}

/** The memory bodies read ahead may use (body-buffers.ts): bytes taken as they arrive, given back when the request ends. */
export interface BufferBudget {
  take(bytes: number): boolean;
  give(bytes: number): void;
}

/** What became of a body read ahead: whole (replayable), or larger than the limit and to be streamed. */
export interface ReadAheadOwner {
  /** The whole body; its bytes stay taken from the budget (the owner gives them back when the request is over). */
  whole(body: Buffer): void;
  /** A chunked body passed the limit: what was read is back at the head of `req` (unshift), which now streams. */
  larger(): void;
  /** 408 too slow, 503 buffer memory spent, 413 past maxBodySize, 400 broken, client gone; the bytes are given back. */
  failBody(failure: FailureKind): void;
}

/**
 * Reads a body ahead at the pace `cfg` asks (408 client-body-timeout when slower) within the pool's buffer budget
 * (503 body-buffer-full). A chunked body larger than `plan.limit` is handed back for streaming, nothing lost.
 */
/** Returns a cancel: the exchange ended meanwhile (a total timeout): stop reading, give the bytes back, tell no one. */
export function readAhead(req: IncomingMessage, plan: { readonly length: number; readonly limit: number }, maxBodyBytes: number, cfg: RequestBodyConfig, clock: Clock, buffers: BufferBudget, owner: ReadAheadOwner): () => void {
  const chunks: Buffer[] = [];
  let held = 0;
  let settled = false;
  const settle = (outcome: FailureKind | 'whole' | 'larger' | 'cancelled'): void => {
    if (settled) return;
    settled = true;
    pace.stop();
    req.off('data', onData);
    if (outcome === 'cancelled') {
      buffers.give(held);
      held = 0;
      chunks.length = 0;
      return;
    }
    if (outcome === 'whole') {
      owner.whole(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, held));
      return;
    }
    buffers.give(held);
    held = 0;
    if (outcome === 'larger') {
      req.pause();
      if (chunks.length > 0) req.unshift(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
      chunks.length = 0;
      owner.larger();
      return;
    }
    chunks.length = 0;
    owner.failBody(outcome);
  };
  const onData = (c: Buffer): void => {
    if (maxBodyBytes > 0 && held + c.length > maxBodyBytes) {
      settle(Failures.bodyTooLarge);
      return;
    }
    if (held + c.length > plan.limit) {
      chunks.push(c); // given back to the stream with the rest
      settle('larger');
      return;
    }
    if (!buffers.take(c.length)) {
      settle(Failures.bodyBufferFull);
      return;
    }
    held += c.length;
    chunks.push(c);
    pace.progress(c.length);
  };
  const pace = new BodyPace(cfg, clock, () => settle(Failures.clientBodyTimeout));
  pace.start();
  req.on('data', onData);
  req.once('end', () => settle(plan.length < 0 || held === plan.length ? 'whole' : Failures.clientBodyError));
  req.once('error', () => settle(Failures.clientBodyError));
  // The client left mid-body: no 'end' will come; give the bytes back (the exchange accounts the client's leaving).
  req.once('close', () => settle(Failures.clientClosed));
  return () => settle('cancelled');
}

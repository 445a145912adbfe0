// The request body policy: refuse what is too large, read small bodies whole before a backend is picked (nginx's
// proxy_request_buffering: a slow upload holds memory, never a backend connection; the body is replayable), stream the rest.
import type { IncomingMessage } from 'node:http';
import type { Clock } from '../clock.js';
import type { PoolConfig, RequestBodyConfig } from '../config/types.js';
import { BodyPace } from './body-pace.js';
import { Failures, type FailureKind } from './failures.js';

/** `buffer` carries the announced length. */
export type BodyPlan = { readonly kind: 'none' } | { readonly kind: 'stream' } | { readonly kind: 'too-large' } | { readonly kind: 'buffer'; readonly length: number };

const NONE: BodyPlan = { kind: 'none' };
const STREAM: BodyPlan = { kind: 'stream' };
const TOO_LARGE: BodyPlan = { kind: 'too-large' };

export function planBody(req: IncomingMessage, cfg: PoolConfig): BodyPlan {
  const cl = req.headers['content-length'];
  const length = cl === undefined ? -1 : Number(cl);
  const chunked = req.headers['transfer-encoding'] !== undefined;
  if (cfg.maxBodyBytes > 0 && length > cfg.maxBodyBytes) return TOO_LARGE;
  if (length <= 0 && !chunked) return NONE;
  // A chunked body has no length to check up front: it streams (its pace still watched, body-pace.ts).
  if (chunked) return STREAM;
  if (length <= cfg.requestBody.bufferBytes) return { kind: 'buffer', length };
  // Any method: a request that never reached the model (refused, a 503 from a loading server) is retried whatever
  // its method, and only a kept body can be sent again.
  return cfg.retry.attempts > 1 && length <= cfg.retry.bufferBodyBytes ? { kind: 'buffer', length } : STREAM;
}

/** The memory bodies read ahead may use (body-buffers.ts): bytes taken as they arrive, given back when the request ends. */
export interface BufferBudget {
  take(bytes: number): boolean;
  give(bytes: number): void;
}

/**
 * Reads a whole body of a known length at the pace `cfg` asks (408 client-body-timeout when slower), within the
 * pool's buffer budget (503 body-buffer-full). `done` gets the body, whose length in bytes is still taken from
 * `buffers` (the caller gives it back when the request is over); on every failure the bytes are given back here.
 */
export function readWholeBody(
  req: IncomingMessage,
  length: number,
  cfg: RequestBodyConfig,
  clock: Clock,
  buffers: BufferBudget,
  done: (body: Buffer) => void,
  failed: (failure: FailureKind) => void,
): void {
  const chunks: Buffer[] = [];
  let held = 0;
  let settled = false;
  const settle = (failure: FailureKind | null): void => {
    if (settled) return;
    settled = true;
    pace.stop();
    req.off('data', onData);
    if (failure === null) {
      done(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, held));
      return;
    }
    buffers.give(held);
    held = 0;
    chunks.length = 0;
    failed(failure);
  };
  const onData = (c: Buffer): void => {
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
  req.once('end', () => settle(held === length ? null : Failures.clientBodyError));
  req.once('error', () => settle(Failures.clientBodyError));
  // The client left mid-body: no 'end' will come; give the bytes back (the exchange accounts the client's leaving).
  req.once('close', () => settle(Failures.clientClosed));
}

// The request body policy: refuse what is too large, keep small bodies whole (replayable), stream the rest.
import type { IncomingMessage } from 'node:http';
import type { PoolConfig } from '../config/types.js';
import { isHttp2Request } from './protocol.js';

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
  // HTTP/2 frames its body in DATA frames: no Content-Length says nothing; only END_STREAM on the headers means none.
  if (length < 0 && !chunked && isHttp2Request(req)) return (req as unknown as { stream: { endAfterHeaders: boolean } }).stream.endAfterHeaders ? NONE : STREAM;
  if (length <= 0 && !chunked) return NONE;
  // Any method: a request that never reached the model (refused, a 503 from a loading server) is retried whatever
  // its method, and only a kept body can be sent again. A chunked body has no length to check up front: it streams.
  return cfg.retry.attempts > 1 && !chunked && length <= cfg.retry.bufferBodyBytes ? { kind: 'buffer', length } : STREAM;
}

/** Reads a whole body of a known length; `failed` when the client's body breaks (a client that leaves closes the response first). */
export function readWholeBody(req: IncomingMessage, length: number, done: (body: Buffer) => void, failed: () => void): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.once('end', () => done(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length)));
  req.once('error', failed);
}

// One HTTP request bounded in time (a deadline on the injected clock) and in body size; for probes, metadata and warm-up.
import { request, type Dispatcher } from 'undici';
import type { Clock } from '../clock.js';

export interface BoundedRequest {
  url: string;
  /** GET unless set. */
  method?: Dispatcher.HttpMethod;
  headers?: Record<string, string>;
  body?: Buffer | string | null;
  /** Deadline for the whole exchange, status line to the last body byte read. */
  timeoutMs: number;
  maxBodyBytes: number;
  /** Past maxBodyBytes: keep what came before the chunk that crossed it ('truncate'), or fail with kind 'too-large'. */
  overLimit: 'truncate' | 'fail';
  /** A fresh connection: the answer is about the server now, not about a stale pooled socket. */
  reset?: boolean;
}

export interface BoundedRequestDeps {
  clock: Clock;
  dispatcher: Dispatcher;
}

/** Why no complete answer came; callers branch on `kind` and show `message`. */
export type RequestFailure =
  | { kind: 'timeout'; message: string }
  | { kind: 'too-large'; message: string }
  /** Connection, protocol or undici's own errors; `code` is undici's or the system's (ECONNREFUSED) when there is one. */
  | { kind: 'transport'; code: string | null; message: string };

export type BoundedResponse =
  | { ok: true; status: number; body: string; ms: number }
  /** `status` is set when the status line arrived before the body failed. */
  | { ok: false; status: number | null; failure: RequestFailure; ms: number };

/** Send the request and read its body within the limits; never throws. `ms` runs from the call to the body's end or the failure. */
export async function boundedRequest(req: BoundedRequest, deps: BoundedRequestDeps): Promise<BoundedResponse> {
  const started = deps.clock.now();
  const ac = new AbortController();
  const timer = deps.clock.setTimer(req.timeoutMs, () => ac.abort(new Error(`timed out after ${req.timeoutMs}ms`)));
  let status: number | null = null;
  try {
    const res = await request(req.url, {
      dispatcher: deps.dispatcher,
      method: req.method ?? 'GET',
      headers: req.headers,
      body: req.body ?? null,
      signal: ac.signal,
      reset: req.reset ?? false,
      headersTimeout: req.timeoutMs,
      bodyTimeout: req.timeoutMs,
    });
    status = res.statusCode;
    const body = await readBody(res.body, req.maxBodyBytes, req.overLimit);
    const ms = deps.clock.now() - started;
    if (body === null) {
      return { ok: false, status, failure: { kind: 'too-large', message: `body larger than ${req.maxBodyBytes} bytes` }, ms };
    }
    return { ok: true, status, body, ms };
  } catch (err) {
    const failure: RequestFailure = ac.signal.aborted ? { kind: 'timeout', message: (ac.signal.reason as Error).message } : transportFailure(err);
    return { ok: false, status, failure, ms: deps.clock.now() - started };
  } finally {
    timer.cancel();
  }
}

/** The body as UTF-8 text; null when it exceeds `max` and over-limit means fail. Either way a body past `max` is not read on. */
async function readBody(body: AsyncIterable<Buffer> & { destroy(): void }, max: number, overLimit: 'truncate' | 'fail'): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > max) {
      body.destroy();
      if (overLimit === 'fail') return null;
      break;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function transportFailure(err: unknown): RequestFailure {
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : null;
  const message = typeof e.message === 'string' ? e.message : String(err);
  return { kind: 'transport', code, message };
}

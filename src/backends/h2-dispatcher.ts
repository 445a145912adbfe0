// The request path to an HTTP/2 backend (`protocol: h2`), on node:http2's client rather than undici's.
//
// Why not undici (which carries HTTP/1.1 traffic, probes and warm-up): its HTTP/2 client drops the DATA still buffered
// in a paused stream when the trailers arrive (undici 8.13 client-h2.js onTrailers removes the 'data' listener). A
// proxy pauses whenever its client reads slowly, so a gRPC server stream through it lost answers and still ended
// with grpc-status 0 (test/grpc/slow-reader.test.ts). node:http2 keeps the buffer: 'end' comes after the last DATA.
//
// It speaks the same DispatchHandler protocol as undici (onRequestStart, onBodySent, onRequestSent, onResponseStart,
// onResponseData, onResponseEnd with trailers, onResponseError; a controller with pause/resume/abort), so forward.ts
// drives both the same way. One session per backend, opened on first use and again after it closes or gets GOAWAY.
import { EventEmitter } from 'node:events';
import http2 from 'node:http2';
import type { Readable } from 'node:stream';
import type { ConnectionOptions } from 'node:tls';
import type { Dispatcher } from 'undici';

export interface H2DispatchOptions {
  readonly path: string;
  readonly method: string;
  /** Flat [name, value, ...] as forward.ts builds it (hop-by-hop headers already removed). */
  readonly headers: string[] | null;
  readonly body: Buffer | Readable | null;
}

/** The subset of undici's Pool the request path and the cluster use. */
export interface UpstreamDispatcher {
  dispatch(options: H2DispatchOptions & Partial<Dispatcher.DispatchOptions>, handler: Dispatcher.DispatchHandler): boolean;
  close(): Promise<void>;
  destroy(): Promise<void>;
  on(event: 'disconnect', listener: (origin: unknown, targets: unknown, err: Error | null) => void): unknown;
}

const { NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM } = http2.constants;

function codedError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

export class H2Dispatcher extends EventEmitter implements UpstreamDispatcher {
  readonly #origin: string;
  readonly #tls: ConnectionOptions;
  readonly #connectTimeoutMs: number;
  #session: http2.ClientHttp2Session | null = null;
  #closed = false;

  constructor(origin: string, opts: { tls: ConnectionOptions; connectTimeoutMs: number }) {
    super();
    this.#origin = origin;
    this.#tls = opts.tls;
    this.#connectTimeoutMs = opts.connectTimeoutMs;
  }

  #sessionFor(): http2.ClientHttp2Session {
    const live = this.#session;
    if (live !== null && !live.closed && !live.destroyed) return live;
    const session = http2.connect(this.#origin, { ...this.#tls, settings: { enablePush: false } });
    this.#session = session;
    const timer = this.#connectTimeoutMs > 0
      ? setTimeout(() => session.destroy(codedError(`connect timeout after ${this.#connectTimeoutMs} ms`, 'UND_ERR_CONNECT_TIMEOUT')), this.#connectTimeoutMs)
      : null;
    timer?.unref();
    session.once('connect', () => {
      if (timer !== null) clearTimeout(timer);
      // Room for every stream's window: a large answer is not capped at 64 KiB per round trip.
      session.setLocalWindowSize(8 * 1024 * 1024);
    });
    let failure: Error | null = null;
    session.on('error', (err) => (failure = err));
    // New streams go to a new session from now on; open ones finish on this one.
    session.once('goaway', () => {
      if (this.#session === session) this.#session = null;
    });
    session.once('close', () => {
      if (timer !== null) clearTimeout(timer);
      if (this.#session === session) this.#session = null;
      // As undici's 'disconnect': the cluster reads a peer that closed as a sign the process may have changed.
      this.emit('disconnect', this.#origin, [], failure ?? codedError('the backend closed the HTTP/2 session', 'UND_ERR_SOCKET'));
    });
    return session;
  }

  dispatch(options: H2DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    if (this.#closed) {
      handler.onResponseError?.(null as never, codedError('dispatcher closed', 'UND_ERR_CLOSED'));
      return false;
    }
    const headers: http2.OutgoingHttpHeaders = { ':method': options.method, ':path': options.path };
    const list = options.headers ?? [];
    for (let i = 0; i < list.length; i += 2) {
      const name = list[i]!.toLowerCase();
      const value = list[i + 1]!;
      if (name === 'host') headers[':authority'] = value;
      else {
        const prev = headers[name];
        headers[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [String(prev), value];
      }
    }
    let session: http2.ClientHttp2Session;
    let stream: http2.ClientHttp2Stream;
    try {
      session = this.#sessionFor();
      stream = session.request(headers, { endStream: options.body === null });
    } catch (err) {
      handler.onResponseError?.(null as never, err as Error);
      return false;
    }
    new H2Exchange(stream, options.body, handler);
    return true;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const s = this.#session;
    if (s === null || s.closed) return;
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  async destroy(): Promise<void> {
    this.#closed = true;
    this.#session?.destroy();
    this.#session = null;
  }
}

/** One request on one stream, reported to the handler as undici would. */
class H2Exchange implements Dispatcher.DispatchController {
  readonly #stream: http2.ClientHttp2Stream;
  readonly #handler: Dispatcher.DispatchHandler;
  #done = false;
  #trailers: Record<string, string | string[] | undefined> = {};
  #aborted = false;
  #reason: Error | null = null;
  /** A response head came: the server has the request. */
  #responded = false;

  constructor(stream: http2.ClientHttp2Stream, body: Buffer | Readable | null, handler: Dispatcher.DispatchHandler) {
    this.#stream = stream;
    this.#handler = handler;
    handler.onRequestStart?.(this, {});
    if (this.#done) return;
    this.#sendBody(body);
    stream.on('response', (h) => {
      this.#responded = true;
      const status = Number(h[':status']);
      const out: Record<string, string | string[] | undefined> = {};
      for (const k in h) if (k.charCodeAt(0) !== 0x3a) out[k] = h[k] as string | string[] | undefined;
      if (!this.#done) handler.onResponseStart?.(this, status, out, '');
    });
    stream.on('data', (chunk: Buffer) => {
      if (!this.#done) handler.onResponseData?.(this, chunk);
    });
    stream.on('trailers', (t) => {
      for (const k in t) this.#trailers[k] = t[k] as string | string[] | undefined;
    });
    stream.on('end', () => {
      if (this.#done) return;
      // A stream can end without any answer when the backend's session goes away: a reset, never an empty 200.
      if (!this.#responded) {
        this.#fail(codedError('the backend closed the stream without answering', 'UND_ERR_SOCKET'));
        return;
      }
      this.#done = true;
      handler.onResponseEnd?.(this, this.#trailers as never);
    });
    stream.on('error', (err) => this.#fail(this.#refused(err) ?? err));
    stream.on('close', () => {
      // Closed without 'end': reset by the backend, or its session went away.
      if (!this.#done) this.#fail(codedError(`the backend reset the stream (code ${stream.rstCode})`, 'UND_ERR_SOCKET'));
    });
  }

  /**
   * RST_STREAM REFUSED_STREAM before any answer: the server closed the stream "prior to any processing having occurred"
   * and the request "can be safely retried" (RFC 9113 8.7) — also what the client's HTTP/2 stack gives streams above
   * the last one a GOAWAY says was processed. Any other reset may come after the server acted on the request.
   */
  #refused(err: Error): Error | null {
    // A stream-level reset only (ERR_HTTP2_STREAM_ERROR): a GOAWAY carrying the same code (ERR_HTTP2_SESSION_ERROR) is
    // copied by Node onto every open stream, also those at or below its last stream id, which the server processed.
    if (this.#responded || (err as { code?: unknown }).code !== 'ERR_HTTP2_STREAM_ERROR' || this.#stream.rstCode !== NGHTTP2_REFUSED_STREAM) return null;
    return codedError('the backend refused the stream before processing it (REFUSED_STREAM)', 'INFERGATE_H2_REFUSED_STREAM');
  }

  #sendBody(body: Buffer | Readable | null): void {
    const stream = this.#stream;
    const handler = this.#handler;
    if (body === null) {
      handler.onRequestSent?.();
      return;
    }
    if (Buffer.isBuffer(body)) {
      handler.onBodySent?.(body);
      stream.end(body, () => handler.onRequestSent?.());
      return;
    }
    // A streamed client body: backpressure both ways.
    const onData = (c: Buffer): void => {
      if (this.#done) return;
      handler.onBodySent?.(c);
      if (!stream.write(c)) body.pause();
    };
    const onDrain = (): void => void body.resume();
    body.on('data', onData);
    stream.on('drain', onDrain);
    body.once('end', () => {
      stream.off('drain', onDrain);
      if (!this.#done) stream.end(() => handler.onRequestSent?.());
    });
    body.once('error', (err) => this.abort(err));
  }

  #fail(err: Error): void {
    if (this.#done) return;
    this.#done = true;
    if (!this.#stream.closed) this.#stream.close(NGHTTP2_CANCEL);
    this.#handler.onResponseError?.(this, this.#reason ?? err);
  }

  // DispatchController
  get aborted(): boolean {
    return this.#aborted;
  }

  get paused(): boolean {
    return this.#stream.isPaused();
  }

  get reason(): Error | null {
    return this.#reason;
  }

  abort(reason: Error): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#fail(reason);
  }

  pause(): void {
    this.#stream.pause();
  }

  resume(): void {
    this.#stream.resume();
  }
}

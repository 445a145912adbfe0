// One upstream attempt: the undici dispatch handler that sends the request to one backend and streams the answer
// back to the client with backpressure both ways; what to do when it fails is the exchange's call.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { Backend } from '../backends/backend.js';
import type { Attempt, Cluster } from '../cluster/cluster.js';
import type { Timer } from '../clock.js';
import type { ExchangeContext } from './accounting.js';
import { tookNewConnection, type Peer } from './connect-timing.js';
import { Failures, ProxyAbort, classifyUpstreamError, resetBeforeReading, type FailureKind } from './failures.js';
import { responseHeaderList, type HeaderList } from './headers.js';
import { listenerGone } from './listener-gone.js';
import { isDigits } from './strict.js';
import { SseEventCounter, isEventStream } from './sse.js';

/** The exchange an attempt works for. */
export interface AttemptOwner {
  readonly ctx: ExchangeContext;
  readonly res: ServerResponse;
  readonly requestId: string;
  readonly cluster: Cluster;
  /** When the client request was received (ctx.clock ms): time to first byte and first event count from here. */
  readonly startedAt: number;
  /** The client speaks HTTP/2. */
  readonly http2: boolean;
  /** The request was answered already (total timeout, 413) and accounted. */
  readonly done: boolean;
  /** The client left. */
  readonly gone: boolean;
  bytesOut: number;
  /** Request received -> first response byte sent to the client (ms); -1 until then. */
  firstByteMs: number;
  /** The head arrived: false when this status is to be retried elsewhere (the attempt is then aborted). */
  forwardHead(a: Forward): boolean;
  /** A reset request would be retried if it was never read, and not otherwise (forward.ts then checks which). */
  retriedOnlyIfUnread(): boolean;
  /** Answer with a JSON error (only possible before any response byte was sent). */
  fail(failure: FailureKind, closeConnection: boolean): void;
  /** The response went out whole: account. */
  finish(): void;
  /** The attempt failed (the client did not leave); `a.failure` says how. */
  failed(a: Forward, error: Error): void;
  /** The client left while the attempt was going. */
  abandoned(a: Forward): void;
  /** The client socket is full: resume the current attempt on 'drain'. */
  paused(): void;
  /** The attempt took a connection and starts sending: a streamed body's pace is watched from here. */
  requestStarted(): void;
  /** Request body bytes went upstream. */
  bodySent(bytes: number): void;
}

/** A first body chunk up to this size is written as a string, joined to the response head (see onResponseData). */
const SMALL_CHUNK = 16 * 1024;

/** A content-length header's value as a number; -1 when it is not one plain decimal number. */
function sizeOf(value: string | string[]): number {
  return typeof value === 'string' && value.length <= 15 && isDigits(value) ? Number(value) : -1;
}

export class Forward implements Dispatcher.DispatchHandler, Attempt {
  readonly backend: Backend;
  status = 0;
  latencyMs = -1;
  /** A token stream: the latency score is fed at its first body byte (time to first token), not at the head. */
  latencyAtFirstByte = false;
  /** How long opening a new connection for this attempt took (ms); -1 when it went on a pooled one. */
  connectMs = -1;
  failure: FailureKind | null = null;
  /** Request body bytes sent in this attempt (a replayed body is counted once per attempt). */
  bytesIn = 0;
  /** The backend's answer is being forwarded: no retry from here on. */
  responseStarted = false;
  readonly #owner: AttemptOwner;
  readonly #startedAt: number;
  #controller: Dispatcher.DispatchController | null = null;
  /**
   * Response head held back until the first body byte (sized responses), so a stall before it can still be answered
   * with a 504; a streamed HTTP/1.1 response's until its first body byte or the end of the tick (#flushHead).
   */
  #pendingHead: HeaderList | null = null;
  #pendingMessage: string | undefined = undefined;
  #released = false;
  #firstByteSent = false;
  /** Counts the events of a text/event-stream response; null for any other response. */
  #sse: SseEventCounter | null = null;
  /** When the last event went out (ctx.clock ms); -1 before the first. */
  #lastEventAt = -1;
  /**
   * The response body's clock: until the first body byte (the first complete event of an event stream) the wait is
   * bounded by timeouts.firstByte from the request's last byte; after it, each gap between chunks by timeouts.idle.
   * One timer, re-armed only when it fires early: a chunk only writes #lastDataAt.
   */
  #bodyTimer: Timer | null = null;
  /** When the request body was fully sent (ctx.clock ms), -1 before: firstByte counts from here, as undici's headersTimeout does. */
  #sentAt = -1;
  #awaitingFirst = true;
  #lastDataAt = 0;
  /** Paused for the client's backpressure: a slow reader is not a stalled backend. */
  #pausedByClient = false;
  /** The body clock is due to start at the end of this tick (see #watchSoon); cleared when the response ends first. */
  #watchPending = false;
  /** The held head is a streamed HTTP/1.1 response's: it goes with the first body bytes, or alone at the end of the tick. */
  #headToFlush = false;
  /** Body bytes still due on a sized HTTP/1.1 response (its content-length); -1 for any other response. */
  #bodyLeft = -1;
  /** An informational (1xx) answer came: the backend read the request. */
  #interim = false;
  /** The address this attempt's new connection reached; null on a reused connection. */
  #peer: Peer | null = null;

  /**
   * Attempts whose body clock starts once the current I/O callback is over. A small response usually arrives whole in
   * one read (head, body and end in one llhttp pass): its timer would be armed and cancelled in the same tick, two
   * setTimeout/clearTimeout pairs per request for nothing. Deadlines count from the request's own timestamps, and no
   * time passes before a microtask runs, so the timeouts fire exactly when they did.
   */
  static #toWatch: Forward[] = [];
  static readonly #watchQueued = (): void => {
    const list = Forward.#toWatch;
    Forward.#toWatch = [];
    for (const a of list) a.#armBodyTimer();
  };

  constructor(owner: AttemptOwner, backend: Backend) {
    this.#owner = owner;
    this.backend = backend;
    this.#startedAt = owner.ctx.clock.now();
  }

  /** Send the request to the backend (through its undici pool); the answer comes back through the handler methods. */
  send(req: IncomingMessage, headers: string[] | null, body: Buffer | IncomingMessage | null): void {
    const method = req.method ?? 'GET';
    // GET/HEAD are idempotent to undici; other methods must not be pipelined behind one another.
    this.backend.dispatcher.dispatch({ path: req.url ?? '/', method, headers, body, idempotent: method === 'GET' || method === 'HEAD', blocking: method !== 'HEAD' }, this);
  }

  /** Stop this attempt; the failure comes back through onResponseError. */
  abort(failure: FailureKind): boolean {
    const c = this.#controller;
    if (c === null) return false;
    c.abort(new ProxyAbort(failure));
    return true;
  }

  resume(): void {
    if (this.#pausedByClient) {
      this.#pausedByClient = false;
      this.#lastDataAt = this.#owner.ctx.clock.now();
    }
    this.#controller?.resume();
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    const peer = tookNewConnection();
    if (peer !== null) {
      this.connectMs = this.#owner.ctx.clock.now() - this.#startedAt;
      this.#peer = peer;
    }
    // The client left, or a total timeout already answered, while the request waited for a connection.
    if (this.#owner.gone || this.#owner.done) controller.abort(new ProxyAbort(Failures.clientClosed));
    else this.#owner.requestStarted();
  }

  onBodySent(chunk: Buffer): void {
    this.bytesIn += chunk.length;
    this.#owner.bodySent(chunk.length);
    // Content-Length was checked up front; a chunked body is measured as it streams.
    const max = this.#owner.cluster.config.maxBodyBytes;
    if (max > 0 && this.bytesIn > max && !this.#owner.gone && !this.#owner.done) {
      // Answer first: aborting destroys the request stream, and with it the client socket.
      this.#owner.fail(Failures.bodyTooLarge, true);
      this.abort(Failures.bodyTooLarge);
    }
  }

  onRequestSent(): void {
    this.#sentAt = this.#owner.ctx.clock.now();
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>, upstreamMessage?: string): void {
    if (statusCode < 200) {
      // 1xx: undici handles 100-continue; informational responses are not forwarded, but the backend has the request.
      this.#interim = true;
      return;
    }
    const owner = this.#owner;
    this.status = statusCode;
    // HTTP/2 has no reason phrase (node:http2 warns on one); an HTTP/2 backend sends none either.
    const statusMessage = owner.http2 ? undefined : upstreamMessage;
    this.latencyMs = owner.ctx.clock.now() - this.#startedAt;
    const eventStream = isEventStream(headers['content-type']);
    this.latencyAtFirstByte = statusCode < 400 && eventStream;
    owner.cluster.report('response', this);
    if (!owner.forwardHead(this)) {
      controller.abort(new ProxyAbort(Failures.upstreamUnavailable));
      return;
    }
    this.responseStarted = true;
    if (owner.gone) {
      controller.abort(new ProxyAbort(Failures.clientClosed));
      return;
    }
    this.#watchSoon();
    const head = responseHeaderList(headers, owner.requestId, owner.ctx.draining() && !owner.http2);
    const contentLength = headers['content-length'];
    if (contentLength !== undefined) {
      this.#pendingHead = head;
      this.#pendingMessage = statusMessage || undefined;
      // HTTP/2 responses end through node:http2's own path (and carry trailers): only HTTP/1.1 ends at the last byte.
      if (!owner.http2) this.#bodyLeft = sizeOf(contentLength);
      return;
    }
    if (eventStream) {
      this.#sse = new SseEventCounter();
      this.backend.stats.streams.open++;
    }
    // The head of a streamed (chunked) response goes out in this tick, whatever comes next: a token stream's first
    // event must not wait for the second. HTTP/1.1: held to the end of the tick (#armBodyTimer's microtask, already
    // queued), so body bytes and the end that arrived in the same read take it along in one write(2) instead of two;
    // no time passes before a microtask, so a head alone still leaves at once. Measured on a 73-byte chunked
    // response: ~17% less CPU per response.
    if (!owner.http2) {
      this.#pendingHead = head;
      this.#pendingMessage = statusMessage || undefined;
      this.#headToFlush = true;
      return;
    }
    owner.res.writeHead(statusCode, statusMessage || undefined, head);
    owner.res.flushHeaders();
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const headPending = this.#pendingHead !== null;
    if (headPending) this.#writePendingHead();
    if (!this.#firstByteSent) this.#observeFirstByte();
    this.#lastDataAt = this.#owner.ctx.clock.now();
    if (this.#sse !== null) this.#observeEvents(this.#sse.feed(chunk));
    else if (this.#awaitingFirst) this.#firstArrived();
    this.#owner.bytesOut += chunk.length;
    const res = this.#owner.res;
    // HTTP/1.1: a small chunk that goes out with the held-back head goes as a latin1 string (byte for byte the same):
    // node:http then joins head and chunk into one string and one write(2), where a Buffer goes through writev
    // (measured alone: ~7% less CPU per small response).
    const data = headPending && chunk.length <= SMALL_CHUNK && !this.#owner.http2 ? chunk.toString('latin1') : chunk;
    if (this.#bodyLeft > 0) {
      this.#bodyLeft -= chunk.length;
      // The last byte of a sized body: end with it. res.write() corks the socket (and schedules an uncork for the
      // next tick), res.end() then adds an empty write and releases the cork: a writev of several buffers. end(chunk)
      // sends head and body as one buffer, no tick scheduled. The backend's end follows in this same parser pass
      // (llhttp completes a sized message at its last byte), where onResponseEnd accounts; an HTTP/1.1 sized response
      // has no trailers to add. Measured with the latin1 string below: ~14% less CPU per small response.
      if (this.#bodyLeft === 0) {
        if (typeof data === 'string') res.end(data, 'latin1');
        else res.end(data);
        return;
      }
    }
    if (!(typeof data === 'string' ? res.write(data, 'latin1') : res.write(data))) {
      this.#pausedByClient = true;
      controller.pause();
      this.#owner.paused();
    }
  }

  onResponseEnd(_controller: Dispatcher.DispatchController, trailers: Record<string, string | string[] | undefined>): void {
    this.#stopBodyTimer();
    this.#release(null);
    if (this.#pendingHead !== null) this.#writePendingHead();
    // A response without a body: its first byte is its head, sent now.
    if (!this.#firstByteSent) this.#observeFirstByte();
    // gRPC's status lives in trailers. HTTP/2 clients get them as sent; HTTP/1.1 ones only on a chunked response
    // (Node drops them otherwise), as nginx does.
    const res = this.#owner.res;
    // Ended already with a sized body's last byte (onResponseData).
    if (!res.writableEnded) {
      if (trailers !== undefined) {
        for (const _ in trailers) {
          res.addTrailers(trailers as Record<string, string>);
          break;
        }
      }
      res.end();
    }
    this.#owner.finish();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.#stopBodyTimer();
    let failure = classifyUpstreamError(error);
    if (failure === Failures.upstreamReset && this.status === 0 && !this.#interim && this.#owner.cluster.config.protocol === 'http1') {
      const proven = resetBeforeReading(error, this.#peer === null);
      // Asked only when the answer matters: a request retried after a reset anyway, or never, needs no check.
      if (proven === Failures.resetUnread && !this.#owner.gone && this.#owner.retriedOnlyIfUnread()) {
        this.#resetUnread(error);
        return;
      }
      if (proven !== null) failure = proven;
    }
    this.#controller = null;
    // The exchange answered already (413, 408 for a slow body) and aborted this attempt: only the slot is left to free.
    if (failure === Failures.bodyTooLarge || failure === Failures.clientBodyTimeout) {
      this.#release(failure);
      return;
    }
    if (failure === Failures.clientClosed || this.#owner.gone) {
      this.#release(Failures.clientClosed);
      this.#owner.abandoned(this);
      return;
    }
    this.#release(failure);
    // The head was held back: nothing reached the client, an honest JSON error is still possible.
    this.#pendingHead = null;
    this.#owner.failed(this, error);
  }

  /**
   * A TCP reset before any response byte: the request was never read if nobody listens at the address any more (a
   * stopping server's accept queue), so it may go to another backend whatever its method; else it stays a reset the
   * backend may have acted on. The slot is freed now; the exchange hears the verdict after one connect (≤ 250 ms).
   */
  #resetUnread(error: Error): void {
    this.#controller = null;
    this.#pendingHead = null;
    this.#release(Failures.upstreamReset);
    const owner = this.#owner;
    void listenerGone(this.#peer, this.backend.url, owner.ctx.clock).then((gone) => {
      // Answered meanwhile (client gone, total timeout): the exchange has accounted already.
      if (owner.done || owner.gone) return;
      this.failure = gone ? Failures.resetUnread : Failures.upstreamReset;
      owner.failed(this, error);
    });
  }

  /** The attempt is over: its backend slot is free, and the cluster hears what it did. */
  #release(failure: FailureKind | null): void {
    if (this.#released) return;
    this.#released = true;
    this.failure = failure;
    if (this.#sse !== null) this.backend.stats.streams.open--;
    if (failure !== null) this.#owner.ctx.stats.attemptFailed(this.backend, failure.code);
    this.#owner.cluster.report('end', this);
  }

  #watchSoon(): void {
    this.#watchPending = true;
    if (Forward.#toWatch.push(this) === 1) queueMicrotask(Forward.#watchQueued);
  }

  /** Still going at the end of the tick it started in: the first-byte (or, once data came, the idle) clock runs. */
  #armBodyTimer(): void {
    if (this.#headToFlush) this.#flushHead();
    if (!this.#watchPending) return;
    this.#watchPending = false;
    const cfg = this.#owner.cluster.config.timeouts;
    const deadline = this.#awaitingFirst ? this.#firstByteDeadline(cfg.firstByteMs) : this.#lastDataAt + cfg.idleMs;
    this.#bodyTimer = this.#owner.ctx.clock.setTimer(Math.max(1, deadline - this.#owner.ctx.clock.now()), this.#checkBody);
  }

  readonly #checkBody = (): void => {
    this.#bodyTimer = null;
    if (this.#controller === null) return;
    const clock = this.#owner.ctx.clock;
    const now = clock.now();
    const cfg = this.#owner.cluster.config.timeouts;
    if (this.#pausedByClient) this.#lastDataAt = now;
    const deadline = this.#awaitingFirst ? this.#firstByteDeadline(cfg.firstByteMs) : this.#lastDataAt + cfg.idleMs;
    if (now < deadline) {
      this.#bodyTimer = clock.setTimer(Math.max(1, deadline - now), this.#checkBody);
      return;
    }
    this.abort(this.#awaitingFirst ? Failures.firstByteTimeout : Failures.idleTimeout);
  };

  /** A long upload does not eat into the wait for the answer: it counts from the request's last byte. */
  #firstByteDeadline(firstByteMs: number): number {
    return (this.#sentAt >= 0 ? this.#sentAt : this.#startedAt) + firstByteMs;
  }

  /** From the first byte (event) on, gaps are timed by idle: the first-byte timer, due later, is replaced. */
  #firstArrived(): void {
    this.#awaitingFirst = false;
    if (this.#bodyTimer === null) return;
    this.#bodyTimer.cancel();
    this.#bodyTimer = this.#owner.ctx.clock.setTimer(Math.max(1, this.#owner.cluster.config.timeouts.idleMs), this.#checkBody);
  }

  #stopBodyTimer(): void {
    this.#watchPending = false;
    this.#bodyTimer?.cancel();
    this.#bodyTimer = null;
  }

  #observeFirstByte(): void {
    this.#firstByteSent = true;
    const owner = this.#owner;
    const now = owner.ctx.clock.now();
    owner.firstByteMs = now - owner.startedAt;
    this.backend.stats.firstByteSeconds.observe(owner.firstByteMs / 1000);
    if (this.latencyAtFirstByte) this.backend.observeLatency(now - this.#startedAt);
  }

  /** Events completed by one chunk: they went out together, so the second and later of them are 0 s apart. */
  #observeEvents(events: number): void {
    if (events === 0) return;
    const now = this.#owner.ctx.clock.now();
    const stats = this.backend.stats;
    if (this.#awaitingFirst) this.#firstArrived();
    for (let i = 0; i < events; i++) {
      if (this.#lastEventAt < 0) stats.sseFirstEventSeconds.observe((now - this.#owner.startedAt) / 1000);
      else stats.sseEventGapSeconds.observe((now - this.#lastEventAt) / 1000);
      this.#lastEventAt = now;
    }
  }

  /** A streamed response's head that no body byte took along in its first tick goes out alone. */
  #flushHead(): void {
    this.#headToFlush = false;
    if (this.#pendingHead === null) return; // sent with body bytes or the end, or the attempt failed
    const res = this.#owner.res;
    // Answered otherwise in the same tick (a 413 while the upload still streamed): that answer stands.
    if (res.headersSent) {
      this.#pendingHead = null;
      return;
    }
    this.#writePendingHead();
    if (!this.#owner.gone && !res.destroyed) res.flushHeaders();
  }

  #writePendingHead(): void {
    const head = this.#pendingHead!;
    this.#pendingHead = null;
    if (!this.#owner.gone) this.#owner.res.writeHead(this.status, this.#pendingMessage, head);
  }
}

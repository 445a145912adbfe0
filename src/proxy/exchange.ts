// One client request through its pool: attempts (forward.ts), retries (retry.ts), the wait queue, the total timeout,
// JSON errors and the accounting at the end — in the order phases.ts writes down.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { constants as http2constants } from 'node:http2';
import type { AffinityOutcome } from '../affinity/prefix-affinity.js';
import { Backend } from '../backends/backend.js';
import { Queued, type BackendGroup, type Cluster, type PickRequest } from '../cluster/cluster.js';
import type { Timer } from '../clock.js';
import type { GroupChoice } from '../routing/groups.js';
import { account, type ExchangeContext } from './accounting.js';
import { BodyPace } from './body-pace.js';
import type { ReadAheadOwner } from './body.js';
import { writeFailure } from './error-body.js';
import { Failures, type FailureKind } from './failures.js';
import { Forward, type AttemptOwner } from './forward.js';
import { endGrpcWithFailure, isGrpc } from './grpc.js';
import { isHttp2Request } from './protocol.js';
import { AttemptHistory, decideRetry, type RetryVerdict } from './retry.js';

export class Exchange implements AttemptOwner, PickRequest, ReadAheadOwner {
  readonly startedAt: number;
  readonly history = new AttemptHistory<Backend>();
  upstreamHeaders: string[] | null = null;
  /** The matched route's name: the route label of the request metrics. */
  route = '';
  /** Null (no body), a kept Buffer (replayable) or the client stream (not replayable). */
  body: Buffer | IncomingMessage | null = null;
  choice: GroupChoice<BackendGroup> | null = null;
  /** The current (or last) attempt. */
  current: Forward | null = null;
  status = 0;
  bytesOut = 0;
  /** Request received -> first response byte to the client (ms), -1 until then. */
  firstByteMs = -1;
  failure: FailureKind | null = null;
  /** The failure came after the response had started (headers sent): the client got a cut response. */
  cut = false;
  done = false;
  gone = false;
  totalTimer: Timer | null = null;
  /** The block hashes of the prompt of a body read ahead, when the pool has prefix affinity (affinity/). */
  prefix: readonly number[] | null = null;
  /** What prefix affinity did (written by the pick); null when the pool has none. */
  affinity: AffinityOutcome | null;
  /** Held or shed for overload (written by the pick). */
  overload: 'held' | 'shed' | null = null;
  /** When the request was first held for overload (ms, the guard's clock); -1 when not held. */
  overloadedSince = -1;
  #queued: Queued | null = null;
  /** Where it picks backends: its pool's cluster, or the next configuration's after a reload while it waited. */
  cluster: Cluster;
  /** The retry budget and body budget it started with: its accounting stays there across a reload. */
  readonly #budget: Cluster['budget'];
  readonly #bodyBuffers: Cluster['bodyBuffers'];
  #drainListening = false;
  /** Phase 4 is reading the body ahead (body.ts): cancels it (the bytes go back to the pool's budget). */
  readingAhead: (() => void) | null = null;
  /** The client speaks HTTP/2 (h2 or h2c): no Connection header, trailers pass through. */
  readonly http2: boolean;
  /** A gRPC call (HTTP/2 with a gRPC content type): failures answer in grpc-status, even after the head. */
  readonly grpc: boolean;
  /** Bytes of a body read ahead, taken from the pool's buffer budget until the request is over. */
  #heldBody = 0;
  /** The pace a streamed body must keep while an attempt sends it (body-pace.ts); null for a kept body. */
  #pace: BodyPace | null = null;

  /** `client`: the real client address (proxy/client-address.ts), for the access log. */
  constructor(readonly ctx: ExchangeContext, readonly req: IncomingMessage, readonly res: ServerResponse, cluster: Cluster, readonly requestId: string, readonly client: string, readonly peer: string) {
    this.startedAt = ctx.clock.now();
    this.cluster = cluster;
    this.#budget = cluster.budget;
    this.#bodyBuffers = cluster.bodyBuffers;
    this.http2 = isHttp2Request(req);
    this.grpc = this.http2 && isGrpc(req.headers);
    // Without a body read ahead there is no prompt to hash: a pick with a key overwrites this.
    this.affinity = cluster.affinity === null ? null : 'no-prompt';
    this.#budget.requestStarted();
    // `on`, not `once`: 'close' fires once per response, and once() allocates a wrapper per request.
    res.on('close', this.#onClientClose);
  }

  // PickRequest
  get headers(): IncomingMessage['headers'] { return this.req.headers; }
  get url(): string | undefined { return this.req.url; }
  get tried(): readonly Backend[] | null { return this.history.tried; }
  /** Retries too: a backend held for re-verification after a refused connection is back within milliseconds. */
  readonly mayQueue = true;
  onSlot(): void {
    this.#queued = null;
    this.attempt();
  }
  onQueueTimeout(): void {
    this.#queued = null;
    this.fail(Failures.queueTimeout, false);
  }
  /** A reload while it waited: it picks again in the next configuration's cluster of its pool (and waits there). */
  moveTo(next: Cluster): void {
    this.#queued = null;
    this.cluster = next;
    // The group was chosen among the old configuration's groups: choose again among the new ones (same pin, same hash).
    this.choice = null;
    this.attempt();
  }

  // ReadAheadOwner (phase 4, body.ts)
  /** A body read whole: replayable; its bytes stay taken from the pool's buffer budget until finish(). */
  whole(body: Buffer): void {
    this.readingAhead = null;
    this.body = body;
    this.#heldBody = body.length;
    const affinity = this.cluster.affinity;
    if (affinity !== null) this.prefix = affinity.keyOf(body);
    this.attempt();
  }

  /** A chunked body larger than the read-ahead limit: it streams, from its first byte (given back to the stream). */
  larger(): void {
    this.readingAhead = null;
    this.streamBody();
    this.attempt();
  }

  /** The client's body streams to the backend: its pace is watched from the moment an attempt takes a connection. */
  streamBody(): void {
    const req = this.req;
    this.body = req;
    // A gRPC client stream sends at the pace of its application (a bidi chat, a message a minute): no minimum rate.
    // Its deadline (grpc-timeout) and the pool's total timeout bound it; it holds an HTTP/2 stream, not a connection.
    if (this.grpc) return;
    // Data already read from the socket but not yet taken by the upstream writer is our delay, not the client's.
    this.#pace = new BodyPace(this.cluster.config.requestBody, this.ctx.clock, this.#onBodyTimeout, () => req.readableLength > 0);
    req.once('end', () => this.#pace?.stop());
  }

  // AttemptOwner: the upstream writer's view of a streamed body.
  requestStarted(): void {
    const pace = this.#pace;
    if (pace !== null && !pace.started) pace.start();
  }

  bodySent(bytes: number): void {
    this.#pace?.progress(bytes);
  }

  readonly #onBodyTimeout = (): void => {
    if (this.done) return;
    const a = this.current;
    // Answer (or cut) first: aborting the attempt destroys the request stream, and with it the client socket.
    this.failBody(Failures.clientBodyTimeout);
    a?.abort(Failures.clientBodyTimeout);
  };

  /**
   * The client's body failed (too slow, buffer memory spent, broken): answer, then close the connection — the rest of
   * the body was never read. A response already started is cut.
   */
  failBody(failure: FailureKind): void {
    this.readingAhead = null;
    if (this.done) return;
    this.failure = failure;
    // The client left mid-body (its request stream closed, perhaps before the response's 'close'): nobody to answer.
    if (this.gone || failure === Failures.clientClosed) this.status = 499;
    else if (this.res.headersSent) this.#cut(failure);
    else if (this.http2) {
      // One stream of a shared connection: answered; node:http2 resets the rest of the upload.
      this.status = failure.status;
      writeFailure(this.res, failure, this.requestId, false);
    } else {
      this.status = failure.status;
      this.res.shouldKeepAlive = false;
      // Taken now: aborting a streaming attempt right after this detaches the socket from the request.
      const socket = this.req.socket as IncomingMessage['socket'] | null;
      writeFailure(this.res, failure, this.requestId, true, () => socket?.destroy());
    }
    this.finish();
  }

  /** Pick a backend and send the request there, or wait in the queue, or answer 503. */
  attempt(): void {
    if (this.gone || this.done) return;
    const picked = this.cluster.pick(this);
    if (picked instanceof Backend) {
      this.history.attempts++;
      this.current = new Forward(this, picked);
      this.current.send(this.req, this.upstreamHeaders, this.body);
    } else if (picked instanceof Queued) this.#queued = picked;
    // Nothing can take it: after failed attempts, the last failure is the honest answer.
    else this.fail(picked === 'queue-full' ? Failures.queueFull : picked === 'overloaded' ? Failures.overloaded : (this.failure ?? Failures.noReadyBackend), false);
  }

  forwardHead(a: Forward): boolean {
    if (a.status >= 500 && this.cluster.config.retry.onStatus.has(a.status)) {
      const verdict = this.#verdict(Failures.upstreamUnavailable);
      if (verdict === 'retry') return false;
      if (verdict === 'budget-exhausted') this.ctx.stats.retryBudgetExhausted(this.cluster.name);
    }
    // This answer goes to the client: an earlier attempt's failure (retried away) is not the request's.
    this.failure = null;
    this.status = a.status;
    return true;
  }

  failed(a: Forward, error: Error): void {
    // Answered already (the total timeout fired while the attempt waited for a connection): nothing left to do.
    if (this.done) return;
    const failure = a.failure!;
    this.failure = failure;
    if (this.res.headersSent) {
      // Bytes already reached the client: the only honest signal left is to cut the connection.
      this.cut = true;
      this.ctx.log.warn({ requestId: this.requestId, backend: a.backend.id, error: failure.code, detail: error.message }, 'upstream failed mid-response');
      this.ctx.stats.responseCut(a.backend, failure.code);
      this.#cut(failure);
      this.finish();
    } else if (a.responseStarted || !this.#retry(failure, a.backend)) {
      this.fail(failure, false);
    }
  }

  abandoned(a: Forward | null): void {
    if (this.done) return;
    this.failure = Failures.clientClosed;
    if (a === null || !a.responseStarted) this.status = 499;
    else if (this.res.headersSent) this.cut = true;
    this.finish();
  }

  #verdict(failure: FailureKind): RetryVerdict {
    const replayable = this.body === null || Buffer.isBuffer(this.body);
    return decideRetry(failure, this.req.method ?? '', replayable, this.history, this.cluster.config.retry, this.#budget.allows());
  }

  retriedOnlyIfUnread(): boolean {
    return this.#verdict(Failures.resetUnread) === 'retry' && this.#verdict(Failures.upstreamReset) === 'no';
  }

  #retry(failure: FailureKind, backend: Backend): boolean {
    const verdict = this.#verdict(failure);
    if (verdict === 'budget-exhausted') this.ctx.stats.retryBudgetExhausted(this.cluster.name);
    if (!this.history.take(verdict, backend, this.#budget)) return false;
    this.ctx.stats.retried(this.cluster.name, verdict === 'retry' ? failure.code : 'reused-connection');
    this.attempt();
    return true;
  }

  paused(): void {
    // One listener per response, added at the first pause (most small responses never pause); it resumes whichever attempt is current.
    if (this.#drainListening) return;
    this.#drainListening = true;
    this.res.on('drain', () => this.current?.resume());
  }

  fail(failure: FailureKind, closeConnection: boolean): void {
    if (this.done) return;
    this.failure = failure;
    if (this.res.headersSent) {
      this.cut = true;
      this.#cut(failure);
    } else {
      this.status = failure.status;
      // Answered while the body was still being read (a total timeout): the rest of it is unread, the connection closes.
      if (!this.gone) writeFailure(this.res, failure, this.requestId, closeConnection || this.readingAhead !== null || this.ctx.draining());
    }
    this.finish();
  }

  /**
   * The head already went out, so its status is what the client saw: end in a way the client cannot mistake for a
   * complete answer. gRPC: the status in trailers (as Envoy does). HTTP/2: RST_STREAM INTERNAL_ERROR (destroying
   * node:http2's compatibility response would send NO_ERROR, a clean end). HTTP/1.1: close the connection.
   */
  #cut(failure: FailureKind): void {
    if (this.gone || this.res.writableEnded) return;
    if (this.grpc) endGrpcWithFailure(this.res, failure);
    else if (this.http2) (this.res as unknown as { stream: { close(code: number): void } }).stream.close(http2constants.NGHTTP2_INTERNAL_ERROR);
    else this.res.destroy();
  }

  readonly #onClientClose = (): void => {
    if (this.done || this.res.writableEnded) return;
    this.gone = true;
    // Upstream: abort, and the attempt reports back (abandoned). Not upstream yet (body, queue): account now.
    if (this.current?.abort(Failures.clientClosed) !== true) this.abandoned(this.current);
  };

  onTotalTimeout(): void {
    this.totalTimer = null;
    if (!this.done && this.current?.abort(Failures.totalTimeout) !== true) this.fail(Failures.totalTimeout, false);
  }

  /** Accounting, exactly once per client request. */
  finish(): void {
    if (this.done) return;
    this.done = true;
    this.totalTimer?.cancel();
    this.readingAhead?.();
    this.readingAhead = null;
    this.#pace?.stop();
    if (this.#heldBody > 0) {
      this.#bodyBuffers.give(this.#heldBody);
      this.#heldBody = 0;
    }
    this.#queued?.cancel();
    this.#queued = null;
    // Held for overload and never given a backend (queue timeout, client gone, total timeout): its wait counts too.
    this.cluster.overload?.endHold(this);
    this.#budget.requestEnded(this.history.retrying);
    account(this);
  }
}

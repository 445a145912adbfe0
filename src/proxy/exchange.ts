// One client request forwarded upstream: the undici dispatch handler, retries, streaming and accounting.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { Backend } from '../backends/backend.js';
import type { BackendPool, GroupChoice } from '../backends/pool.js';
import type { Waiter } from '../backends/queue.js';
import type { Clock, Timer } from '../clock.js';
import type { AccessRecord, Logger } from '../observe/log.js';
import { codeClassIndex, type Metrics } from '../observe/metrics.js';
import { Failures, classifyUpstreamError, failureBody, type FailureKind } from './failures.js';
import { responseHeaderList, upstreamRequestHeaders, type HeaderList } from './headers.js';

/** What every exchange shares: long-lived, built once per app. */
export interface ExchangeContext {
  readonly clock: Clock;
  readonly metrics: Metrics;
  readonly access: Logger | null;
  readonly log: Logger;
  /** True once shutdown began: responses then carry `Connection: close`. */
  draining(): boolean;
}

class TotalTimeoutError extends Error {
  readonly code = 'INFERGATE_TOTAL_TIMEOUT';
}
class ClientClosedError extends Error {
  readonly code = 'INFERGATE_CLIENT_CLOSED';
}
class BodyTooLargeError extends Error {
  readonly code = 'INFERGATE_BODY_TOO_LARGE';
}
/** The backend's answer was a retryable status (retry.onStatus): dropped unread, the request goes elsewhere. */
class RetryableStatusError extends Error {
  readonly code = 'INFERGATE_RETRYABLE_STATUS';
}

const RETRY_AFTER_SECONDS = '1';

export class Exchange implements Dispatcher.DispatchHandler, Waiter {
  readonly #ctx: ExchangeContext;
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  readonly #pool: BackendPool;
  readonly requestId: string;
  readonly #startedAt: number;
  #headers: string[] | null = null;
  /** Null (no body), a kept Buffer (replayable) or the client stream (not replayable). */
  #body: Buffer | IncomingMessage | null = null;
  #backend: Backend | null = null;
  /** Whether this exchange currently counts in #backend's in-flight. */
  #holding = false;
  /** Backends already tried by this request, so retries go elsewhere. */
  #tried: Backend[] | null = null;
  #attempts = 0;
  #retrying = false;
  #freshConnectionRetryUsed = false;
  /** Tries that do not count against retry.attempts (the keep-alive race retry). */
  #freeAttempts = 0;
  /** This attempt's outcome already went to the rollout (a failed attempt is recorded when it fails). */
  #attemptRecorded = false;
  #controller: Dispatcher.DispatchController | null = null;
  #upstreamStartedAt = 0;
  #upstreamMs = -1;
  /** The backend answered (status line received): no retry from here on. */
  #responseStarted = false;
  /** Response head held back until the first body byte (Content-Length responses), so a stall before it can still be answered with a 504. */
  #pendingHeaders: HeaderList | null = null;
  #pendingStatusMessage: string | undefined = undefined;
  #status = 0;
  #bytesIn = 0;
  #bytesOut = 0;
  #done = false;
  #clientGone = false;
  #failure: FailureKind | null = null;
  #totalTimer: Timer | null = null;
  #drainListening = false;
  /** Waiting in the pool's queue for a backend. */
  #queued = false;
  /** The group this request is meant for, chosen once (sticky users keep it across retries and queueing). */
  #choice: GroupChoice | null = null;

  constructor(ctx: ExchangeContext, req: IncomingMessage, res: ServerResponse, pool: BackendPool, requestId: string) {
    this.#ctx = ctx;
    this.#req = req;
    this.#res = res;
    this.#pool = pool;
    this.requestId = requestId;
    this.#startedAt = ctx.clock.now();
  }

  /** Phase: body policy, then the first upstream attempt (see phases.ts for the whole order). */
  start(): void {
    const req = this.#req;
    const pool = this.#pool;
    pool.active++;
    // `on`, not `once`: 'close' fires once per response, and once() allocates a wrapper per request.
    this.#res.on('close', this.#onClientClose);
    const cfg = pool.config;
    const cl = req.headers['content-length'];
    const length = cl === undefined ? -1 : Number(cl);
    const chunked = req.headers['transfer-encoding'] !== undefined;
    if (cfg.maxBodyBytes > 0 && length > cfg.maxBodyBytes) {
      this.#fail(Failures.bodyTooLarge, true);
      return;
    }
    if (cfg.timeouts.totalMs > 0) this.#totalTimer = this.#ctx.clock.setTimer(cfg.timeouts.totalMs, () => this.#onTotalTimeout());
    this.#headers = upstreamRequestHeaders(req, { requestId: this.requestId, hostOverride: cfg.hostHeader });
    if (length <= 0 && !chunked) {
      this.#body = null;
      this.#attempt();
      return;
    }
    const retryable = cfg.retry.attempts > 1 && cfg.retry.methods.has(req.method ?? '');
    if (retryable && !chunked && length <= cfg.retry.bufferBodyBytes) {
      this.#bufferBody(length);
      return;
    }
    this.#body = req;
    this.#attempt();
  }

  /** Small bodies are kept so that a failed attempt can be replayed on another backend. */
  #bufferBody(length: number): void {
    const chunks: Buffer[] = [];
    const req = this.#req;
    req.on('data', (c: Buffer) => chunks.push(c));
    req.once('end', () => {
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length);
      this.#body = body;
      if (!this.#clientGone) this.#attempt();
    });
    // A client that goes away closes the response first (#onClientClose), so this is a malformed body.
    req.once('error', () => this.#fail(Failures.clientBodyError, true));
  }

  #attempt(): void {
    if (this.#clientGone || this.#done) return;
    const pool = this.#pool;
    if (this.#choice === null && pool.chooser !== null) this.#choice = pool.chooser.choose(this.#req);
    const backend = pool.pick(this.#tried, this.#choice);
    if (backend === undefined) {
      // Nothing can take it now: wait in the queue (first attempt only), else answer 503.
      const queue = pool.queue;
      if (this.#attempts === 0 && queue !== null) {
        if (queue.enqueue(this)) this.#queued = true;
        else this.#fail(Failures.queueFull, false);
        return;
      }
      this.#fail(this.#failure ?? Failures.noReadyBackend, false);
      return;
    }
    this.#backend = backend;
    this.#holding = true;
    this.#attempts++;
    this.#attemptRecorded = false;
    this.#bytesIn = 0; // bytes of this attempt's body (a replayed body is counted once)
    backend.inflight++;
    backend.requests++;
    this.#upstreamStartedAt = this.#ctx.clock.now();
    const req = this.#req;
    backend.dispatcher.dispatch(
      {
        path: req.url ?? '/',
        method: req.method ?? 'GET',
        headers: this.#headers,
        body: this.#body,
        // GET/HEAD are idempotent to undici; other methods must not be pipelined behind one another.
        idempotent: req.method === 'GET' || req.method === 'HEAD',
        blocking: req.method !== 'HEAD',
      },
      this,
    );
  }

  /** Waiter: a backend can take this request now. */
  onSlot(): void {
    this.#queued = false;
    this.#attempt();
  }

  /** Waiter: no backend could take it within the queue timeout. */
  onQueueTimeout(): void {
    this.#queued = false;
    this.#fail(Failures.queueTimeout, false);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    // The client left, or a total timeout already answered, while the request waited for a connection.
    if (this.#clientGone || this.#done) controller.abort(new ClientClosedError('client closed the connection'));
  }

  onBodySent(chunk: Buffer): void {
    this.#bytesIn += chunk.length;
    // Content-Length was checked up front; a chunked body is measured as it streams.
    const max = this.#pool.config.maxBodyBytes;
    if (max > 0 && this.#bytesIn > max && !this.#done) {
      // Answer first: aborting destroys the request stream, and with it the client socket.
      this.#fail(Failures.bodyTooLarge, true);
      this.#controller?.abort(new BodyTooLargeError('request body larger than maxBodySize'));
    }
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>, statusMessage?: string): void {
    if (statusCode < 200) return; // 1xx: undici handles 100-continue; informational responses are not forwarded
    this.#responseStarted = true;
    this.#status = statusCode;
    const now = this.#ctx.clock.now();
    this.#upstreamMs = now - this.#upstreamStartedAt;
    const backend = this.#backend!;
    backend.observeLatency(this.#upstreamMs);
    backend.stats.upstreamSeconds.observe(this.#upstreamMs / 1000);
    // Consecutive-error detectors eject on the failing response itself, not at the next sweep.
    const pool = this.#pool;
    pool.outliers?.report(backend, statusCode < 500 ? 'success' : statusCode <= 504 && statusCode >= 502 ? 'gateway-error' : 'server-error');
    if (statusCode >= 500 && pool.config.retry.onStatus.has(statusCode) && this.#mayRetry()) {
      // A model server answering 503 while it reloads has not processed the request: send it elsewhere.
      pool.onUnavailable?.(backend);
      controller.abort(new RetryableStatusError(`backend answered ${statusCode}`));
      return;
    }
    // This answer goes to the client: an earlier attempt's failure (retried away) is not the request's.
    this.#failure = null;
    if (statusCode >= 500) backend.errors++;
    const res = this.#res;
    if (this.#clientGone) {
      controller.abort(new ClientClosedError('client closed the connection'));
      return;
    }
    const head = responseHeaderList(headers, this.requestId, this.#ctx.draining());
    if (headers['content-length'] !== undefined) {
      // A sized body: the head goes out with the first body byte, so a backend stalling before it still gets a JSON 504.
      this.#pendingHeaders = head;
      this.#pendingStatusMessage = statusMessage || undefined;
      return;
    }
    res.writeHead(statusCode, statusMessage || undefined, head);
    // Flush headers now: a token stream's first event must not wait for the second.
    res.flushHeaders();
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#pendingHeaders !== null) this.#writePendingHead();
    this.#bytesOut += chunk.length;
    if (!this.#res.write(chunk)) {
      controller.pause();
      // One listener per response, added at the first pause (most small responses never pause); it resumes whichever attempt is current.
      if (!this.#drainListening) {
        this.#drainListening = true;
        this.#res.on('drain', () => this.#controller?.resume());
      }
    }
  }

  onResponseEnd(): void {
    this.#releaseBackend(null);
    if (this.#pendingHeaders !== null) this.#writePendingHead();
    this.#res.end();
    this.#finish();
  }

  #writePendingHead(): void {
    const headers = this.#pendingHeaders!;
    this.#pendingHeaders = null;
    if (!this.#clientGone) this.#res.writeHead(this.#status, this.#pendingStatusMessage, headers);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    const backend = this.#backend;
    if (error instanceof BodyTooLargeError) {
      this.#releaseBackend(null);
      return;
    }
    if (this.#clientGone || error instanceof ClientClosedError) {
      this.#releaseBackend(null);
      if (this.#done) return;
      this.#failure = Failures.clientClosed;
      if (!this.#responseStarted) this.#status = 499;
      this.#finish();
      return;
    }
    const failure = error instanceof TotalTimeoutError ? Failures.totalTimeout : error instanceof RetryableStatusError ? Failures.upstreamUnavailable : classifyUpstreamError(error);
    if (error instanceof RetryableStatusError) this.#responseStarted = false;
    this.#releaseBackend(failure);
    this.#failure = failure;
    if (this.#res.headersSent) {
      // Bytes already reached the client: the only honest signal left is to cut the connection.
      this.#ctx.log.warn({ requestId: this.requestId, backend: backend?.id, error: failure.code, detail: error.message }, 'upstream failed mid-response');
      this.#res.destroy();
      this.#finish();
      return;
    }
    // The backend answered but nothing reached the client yet (held-back head): an honest JSON error is still possible.
    if (this.#responseStarted) {
      this.#pendingHeaders = null;
      this.#fail(failure, false);
      return;
    }
    if (this.#shouldRetry(failure)) return;
    this.#fail(failure, false);
  }

  /** A retry would be allowed now: replayable body, retryable method, attempts and budget left. */
  #mayRetry(): boolean {
    const pool = this.#pool;
    const retry = pool.config.retry;
    const replayable = this.#body === null || Buffer.isBuffer(this.#body);
    return replayable && retry.methods.has(this.#req.method ?? '') && this.#attempts - this.#freeAttempts < retry.attempts && pool.retryAllowed();
  }

  #shouldRetry(failure: FailureKind): boolean {
    const pool = this.#pool;
    const retry = pool.config.retry;
    const replayable = this.#body === null || Buffer.isBuffer(this.#body);
    if (!failure.retryable || !replayable || !retry.methods.has(this.#req.method ?? '')) return false;
    // Keep-alive race: a pooled socket closed by the backend as we reused it. One more try on another
    // connection, outside attempts and budget; the dispatch API cannot tell a reused socket from a fresh one.
    if (failure === Failures.upstreamReset && !this.#freshConnectionRetryUsed) {
      this.#freshConnectionRetryUsed = true;
      this.#freeAttempts++;
      this.#ctx.metrics.retries.inc({ pool: pool.name, reason: 'reused-connection' });
      this.#attempt();
      return true;
    }
    if (this.#attempts - this.#freeAttempts >= retry.attempts) return false;
    if (!pool.retryAllowed()) {
      this.#ctx.metrics.retryBudgetExhausted.inc({ pool: pool.name });
      return false;
    }
    (this.#tried ??= []).push(this.#backend!);
    if (!this.#retrying) {
      this.#retrying = true;
      pool.activeRetries++;
    }
    this.#ctx.metrics.retries.inc({ pool: pool.name, reason: failure.code });
    this.#attempt();
    return true;
  }

  #releaseBackend(failure: FailureKind | null): void {
    const backend = this.#backend;
    if (backend === null || !this.#holding) return;
    this.#holding = false;
    backend.inflight--;
    // A freed slot is capacity for a request waiting behind maxConcurrent.
    if (backend.maxConcurrent > 0) this.#pool.wake();
    if (failure !== null && failure.source === 'upstream') {
      backend.errors++;
      if (failure.gatewayError) backend.observeFailure();
      // The retry that follows may land elsewhere: the canary analysis must still see this failed attempt.
      const pool = this.#pool;
      if (failure !== Failures.upstreamUnavailable) pool.outliers?.report(backend, 'gateway-error');
      if (pool.rollout !== null) {
        pool.rollout.record(backend.group, false, -1);
        this.#attemptRecorded = true;
      }
    }
    this.#controller = null;
  }

  /** Answer with a JSON error (only possible before any response byte was sent). */
  #fail(failure: FailureKind, closeConnection: boolean): void {
    if (this.#done) return;
    this.#failure = failure;
    this.#status = failure.status;
    const res = this.#res;
    if (!res.headersSent && !this.#clientGone) {
      const body = failureBody(failure, this.requestId);
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
        'x-request-id': this.requestId,
      };
      if (failure.status === 503) headers['retry-after'] = RETRY_AFTER_SECONDS;
      if (closeConnection || this.#ctx.draining()) headers.connection = 'close';
      res.writeHead(failure.status, headers);
      res.end(body);
    }
    this.#finish();
  }

  readonly #onClientClose = (): void => {
    if (this.#done || this.#res.writableFinished) return;
    this.#clientGone = true;
    const controller = this.#controller;
    if (controller !== null) controller.abort(new ClientClosedError('client closed the connection'));
    else if (!this.#holding) {
      // Not upstream yet (buffering the body or waiting): nothing to abort, account now.
      this.#failure = Failures.clientClosed;
      this.#status = 499;
      this.#finish();
    }
  };

  #onTotalTimeout(): void {
    this.#totalTimer = null;
    if (this.#done) return;
    const controller = this.#controller;
    if (controller !== null) controller.abort(new TotalTimeoutError('total timeout'));
    else this.#fail(Failures.totalTimeout, false);
  }

  /** Phase: accounting, exactly once per client request. */
  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#totalTimer?.cancel();
    if (this.#queued) {
      this.#queued = false;
      this.#pool.queue?.remove(this);
    }
    const pool = this.#pool;
    pool.active--;
    if (this.#retrying) pool.activeRetries--;
    const ctx = this.#ctx;
    const totalMs = ctx.clock.now() - this.#startedAt;
    const status = this.#status;
    const backend = this.#backend;
    const failure = this.#failure;
    if (this.#responseStarted && backend !== null) backend.stats.requests[codeClassIndex(status)]!.inc();
    else pool.stats.requestsNoBackend[codeClassIndex(status)]!.inc();
    const rollout = pool.rollout;
    if (rollout !== null && backend !== null && this.#responseStarted && !this.#attemptRecorded && failure !== Failures.clientClosed) {
      rollout.record(backend.group, status < 500, this.#upstreamMs);
    }
    pool.stats.requestSeconds.observe(totalMs / 1000);
    if (failure !== null) ctx.metrics.errors.inc({ pool: pool.name, kind: failure.code });
    const access = ctx.access;
    if (access !== null) {
      const rec: AccessRecord = {
        requestId: this.requestId,
        method: this.#req.method ?? '',
        path: this.#req.url ?? '',
        status,
        pool: pool.name,
        group: backend?.group ?? '',
        backend: backend?.id ?? '',
        attempts: this.#attempts,
        upstreamMs: Math.round(this.#upstreamMs * 1000) / 1000,
        totalMs: Math.round(totalMs * 1000) / 1000,
        bytesIn: this.#bytesIn,
        bytesOut: this.#bytesOut,
      };
      if (failure !== null) rec.error = failure.code;
      access.info(rec);
    }
  }
}

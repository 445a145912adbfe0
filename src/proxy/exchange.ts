// One client request through its pool: attempts (forward.ts), retries (retry.ts), the wait queue, the total timeout,
// JSON errors and the accounting at the end — in the order phases.ts writes down.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Backend } from '../backends/backend.js';
import { Queued, type BackendGroup, type Cluster, type PickRequest } from '../cluster/cluster.js';
import type { Timer } from '../clock.js';
import type { GroupChoice } from '../routing/groups.js';
import { account, type ExchangeContext } from './accounting.js';
import { writeFailure } from './error-body.js';
import { Failures, type FailureKind } from './failures.js';
import { Forward, type AttemptOwner } from './forward.js';
import { decideRetry } from './retry.js';

export class Exchange implements AttemptOwner, PickRequest {
  readonly ctx: ExchangeContext;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly cluster: Cluster;
  readonly requestId: string;
  readonly startedAt: number;
  readonly headers: IncomingMessage['headers'];
  readonly url: string | undefined;
  upstreamHeaders: string[] | null = null;
  /** Null (no body), a kept Buffer (replayable) or the client stream (not replayable). */
  body: Buffer | IncomingMessage | null = null;
  choice: GroupChoice<BackendGroup> | null = null;
  tried: Backend[] | null = null;
  /** The current (or last) attempt. */
  current: Forward | null = null;
  attempts = 0;
  freeAttempts = 0;
  freshConnectionRetryUsed = false;
  retrying = false;
  status = 0;
  bytesOut = 0;
  failure: FailureKind | null = null;
  done = false;
  #gone = false;
  #queued: Queued | null = null;
  totalTimer: Timer | null = null;
  #drainListening = false;

  constructor(ctx: ExchangeContext, req: IncomingMessage, res: ServerResponse, cluster: Cluster, requestId: string) {
    this.ctx = ctx;
    this.req = req;
    this.res = res;
    this.cluster = cluster;
    this.requestId = requestId;
    this.headers = req.headers;
    this.url = req.url;
    this.startedAt = ctx.clock.now();
    cluster.budget.requestStarted();
    // `on`, not `once`: 'close' fires once per response, and once() allocates a wrapper per request.
    res.on('close', this.#onClientClose);
  }

  get mayQueue(): boolean {
    return this.attempts === 0;
  }

  /** Pick a backend and send the request there, or wait in the queue, or answer 503. */
  attempt(): void {
    if (this.#gone || this.done) return;
    const picked = this.cluster.pick(this);
    if (picked instanceof Backend) this.#send(picked);
    else if (picked instanceof Queued) this.#queued = picked;
    // Nothing can take it: after failed attempts, the last failure is the honest answer.
    else this.fail(picked === Failures.noReadyBackend ? (this.failure ?? picked) : picked, false);
  }

  #send(backend: Backend): void {
    const fwd = new Forward(this, backend);
    this.current = fwd;
    this.attempts++;
    const req = this.req;
    const method = req.method ?? 'GET';
    // GET/HEAD are idempotent to undici; other methods must not be pipelined behind one another.
    backend.dispatcher.dispatch({ path: req.url ?? '/', method, headers: this.upstreamHeaders, body: this.body, idempotent: method === 'GET' || method === 'HEAD', blocking: method !== 'HEAD' }, fwd);
  }

  onSlot(): void {
    this.#queued = null;
    this.attempt();
  }

  onQueueTimeout(): void {
    this.#queued = null;
    this.fail(Failures.queueTimeout, false);
  }

  now(): number {
    return this.ctx.clock.now();
  }

  draining(): boolean {
    return this.ctx.draining();
  }

  closed(): boolean {
    return this.#gone || this.done;
  }

  clientGone(): boolean {
    return this.#gone;
  }

  forwardHead(a: Forward): boolean {
    const retry = this.cluster.config.retry;
    if (a.status >= 500 && retry.onStatus.has(a.status) && this.#retryVerdict(Failures.upstreamUnavailable) === 'retry') return false;
    // This answer goes to the client: an earlier attempt's failure (retried away) is not the request's.
    this.failure = null;
    this.status = a.status;
    return true;
  }

  ended(): void {
    this.finish();
  }

  abandoned(a: Forward | null): void {
    if (this.done) return;
    this.failure = Failures.clientClosed;
    if (a === null || !a.responseStarted) this.status = 499;
    this.finish();
  }

  failed(a: Forward, error: Error): void {
    const failure = a.failure!;
    this.failure = failure;
    if (this.res.headersSent) {
      // Bytes already reached the client: the only honest signal left is to cut the connection.
      this.ctx.log.warn({ requestId: this.requestId, backend: a.backend.id, error: failure.code, detail: error.message }, 'upstream failed mid-response');
      this.res.destroy();
      this.finish();
      return;
    }
    if (!a.responseStarted && this.#retry(failure, a.backend)) return;
    this.fail(failure, false);
  }

  #retryVerdict(failure: FailureKind): ReturnType<typeof decideRetry> {
    const replayable = this.body === null || Buffer.isBuffer(this.body);
    return decideRetry(failure, this.req.method ?? '', replayable, this, this.cluster.config.retry, this.cluster.budget.allows());
  }

  #retry(failure: FailureKind, backend: Backend): boolean {
    const verdict = this.#retryVerdict(failure);
    const stats = this.ctx.stats;
    switch (verdict) {
      case 'retry-fresh-connection':
        this.freshConnectionRetryUsed = true;
        this.freeAttempts++;
        stats.retried(this.cluster.name, 'reused-connection');
        break;
      case 'retry':
        (this.tried ??= []).push(backend);
        if (!this.retrying) {
          this.retrying = true;
          this.cluster.budget.retryStarted();
        }
        stats.retried(this.cluster.name, failure.code);
        break;
      case 'budget-exhausted':
        stats.retryBudgetExhausted(this.cluster.name);
        return false;
      case 'no':
        return false;
    }
    this.attempt();
    return true;
  }

  paused(): void {
    // One listener per response, added at the first pause (most small responses never pause); it resumes whichever attempt is current.
    if (this.#drainListening) return;
    this.#drainListening = true;
    this.res.on('drain', () => this.current?.resume());
  }

  countBytesOut(n: number): void {
    this.bytesOut += n;
  }

  fail(failure: FailureKind, closeConnection: boolean): void {
    if (this.done) return;
    this.failure = failure;
    this.status = failure.status;
    if (!this.res.headersSent && !this.#gone) writeFailure(this.res, failure, this.requestId, closeConnection || this.ctx.draining());
    this.finish();
  }

  readonly #onClientClose = (): void => {
    if (this.done || this.res.writableFinished) return;
    this.#gone = true;
    // Upstream: abort, and the attempt reports back (abandoned). Not upstream yet (body, queue): account now.
    if (this.current?.abort(Failures.clientClosed) !== true) this.abandoned(this.current);
  };

  onTotalTimeout(): void {
    this.totalTimer = null;
    if (this.done) return;
    if (this.current?.abort(Failures.totalTimeout) !== true) this.fail(Failures.totalTimeout, false);
  }

  /** Accounting, exactly once per client request. */
  finish(): void {
    if (this.done) return;
    this.done = true;
    this.totalTimer?.cancel();
    this.#queued?.cancel();
    this.#queued = null;
    this.cluster.budget.requestEnded(this.retrying);
    account(this);
  }
}

// One upstream attempt: the undici dispatch handler that sends the request to one backend and streams the answer
// back to the client with backpressure both ways; what to do when it fails is the exchange's call.
import type { ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { Backend } from '../backends/backend.js';
import type { Attempt, Cluster } from '../cluster/cluster.js';
import { Failures, ProxyAbort, classifyUpstreamError, type FailureKind } from './failures.js';
import { responseHeaderList, type HeaderList } from './headers.js';

/** The exchange an attempt works for. */
export interface AttemptOwner {
  readonly res: ServerResponse;
  readonly requestId: string;
  readonly cluster: Cluster;
  now(): number;
  /** Responses carry `Connection: close` (shutdown began). */
  draining(): boolean;
  /** The client left, or the request was answered already (total timeout, 413). */
  closed(): boolean;
  clientGone(): boolean;
  /** The head arrived: false when this status is to be retried elsewhere (the attempt is then aborted). */
  forwardHead(a: Forward): boolean;
  /** Answer with a JSON error (only possible before any response byte was sent). */
  fail(failure: FailureKind, closeConnection: boolean): void;
  /** The response went out whole. */
  ended(a: Forward): void;
  /** The attempt failed (the client did not leave); `a.failure` says how. */
  failed(a: Forward, error: Error): void;
  /** The client left while the attempt was going. */
  abandoned(a: Forward): void;
  /** The client socket is full: resume the current attempt on 'drain'. */
  paused(): void;
  countBytesOut(n: number): void;
}

export class Forward implements Dispatcher.DispatchHandler, Attempt {
  readonly backend: Backend;
  status = 0;
  latencyMs = -1;
  failure: FailureKind | null = null;
  /** Request body bytes sent in this attempt (a replayed body is counted once per attempt). */
  bytesIn = 0;
  /** The backend's answer is being forwarded: no retry from here on. */
  responseStarted = false;
  readonly #owner: AttemptOwner;
  readonly #startedAt: number;
  #controller: Dispatcher.DispatchController | null = null;
  /** Response head held back until the first body byte (sized responses), so a stall before it can still be answered with a 504. */
  #pendingHead: HeaderList | null = null;
  #pendingMessage: string | undefined = undefined;
  #released = false;

  constructor(owner: AttemptOwner, backend: Backend) {
    this.#owner = owner;
    this.backend = backend;
    this.#startedAt = owner.now();
  }

  /** Stop this attempt; the failure comes back through onResponseError. */
  abort(failure: FailureKind): boolean {
    const c = this.#controller;
    if (c === null) return false;
    c.abort(new ProxyAbort(failure));
    return true;
  }

  resume(): void {
    this.#controller?.resume();
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    // The client left, or a total timeout already answered, while the request waited for a connection.
    if (this.#owner.closed()) controller.abort(new ProxyAbort(Failures.clientClosed));
  }

  onBodySent(chunk: Buffer): void {
    this.bytesIn += chunk.length;
    // Content-Length was checked up front; a chunked body is measured as it streams.
    const max = this.#owner.cluster.config.maxBodyBytes;
    if (max > 0 && this.bytesIn > max && !this.#owner.closed()) {
      // Answer first: aborting destroys the request stream, and with it the client socket.
      this.#owner.fail(Failures.bodyTooLarge, true);
      this.abort(Failures.bodyTooLarge);
    }
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>, statusMessage?: string): void {
    if (statusCode < 200) return; // 1xx: undici handles 100-continue; informational responses are not forwarded
    const owner = this.#owner;
    this.status = statusCode;
    this.latencyMs = owner.now() - this.#startedAt;
    owner.cluster.report('response', this);
    if (!owner.forwardHead(this)) {
      controller.abort(new ProxyAbort(Failures.upstreamUnavailable));
      return;
    }
    this.responseStarted = true;
    if (owner.clientGone()) {
      controller.abort(new ProxyAbort(Failures.clientClosed));
      return;
    }
    const head = responseHeaderList(headers, owner.requestId, owner.draining());
    if (headers['content-length'] !== undefined) {
      this.#pendingHead = head;
      this.#pendingMessage = statusMessage || undefined;
      return;
    }
    owner.res.writeHead(statusCode, statusMessage || undefined, head);
    // Flush headers now: a token stream's first event must not wait for the second.
    owner.res.flushHeaders();
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#pendingHead !== null) this.#writePendingHead();
    this.#owner.countBytesOut(chunk.length);
    if (!this.#owner.res.write(chunk)) {
      controller.pause();
      this.#owner.paused();
    }
  }

  onResponseEnd(): void {
    this.#release(null);
    if (this.#pendingHead !== null) this.#writePendingHead();
    this.#owner.res.end();
    this.#owner.ended(this);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    const failure = classifyUpstreamError(error);
    this.#controller = null;
    if (failure === Failures.bodyTooLarge) {
      this.#release(failure);
      return;
    }
    if (failure === Failures.clientClosed || this.#owner.clientGone()) {
      this.#release(Failures.clientClosed);
      this.#owner.abandoned(this);
      return;
    }
    this.#release(failure);
    // The head was held back: nothing reached the client, an honest JSON error is still possible.
    this.#pendingHead = null;
    this.#owner.failed(this, error);
  }

  /** The attempt is over: its backend slot is free, and the cluster hears what it did. */
  #release(failure: FailureKind | null): void {
    if (this.#released) return;
    this.#released = true;
    this.failure = failure;
    this.#owner.cluster.report('end', this);
  }

  #writePendingHead(): void {
    const head = this.#pendingHead!;
    this.#pendingHead = null;
    if (!this.#owner.clientGone()) this.#owner.res.writeHead(this.status, this.#pendingMessage, head);
  }
}

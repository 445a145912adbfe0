// WebSocket upgrades, proxied with http-proxy (the one place it earns its keep), counted and drainable.
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import httpProxy from 'http-proxy';
import type { Backend } from '../backends/backend.js';
import type { BackendPool } from '../backends/pool.js';
import type { Metrics } from '../observe/metrics.js';
import type { Logger } from '../observe/log.js';
import type { Router } from '../routing/routes.js';
import { Failures, failureBody, type FailureKind } from './failures.js';
import { requestIdFor } from './request-id.js';
import { checkRequest } from './strict.js';

interface Tunnel {
  client: Duplex;
  upstream: Duplex | null;
  backend: Backend;
  /** `result` labels the upgrade attempt; null once it was counted ('upgraded', 'rejected'). */
  close: ((result: string | null) => void) | null;
  closed(): boolean;
  /** The backend answered the upgrade with an ordinary response (http-proxy passes it to the client). */
  rejected: boolean;
  /** Hands the client socket over to the tunnel once the 101 arrived (stops our pre-upgrade reading). */
  takeOver: (() => void) | null;
}

export class WebSocketProxy {
  readonly #proxy = httpProxy.createProxyServer({ ws: true, xfwd: true });
  readonly #tunnels = new Set<Tunnel>();
  readonly #metrics: Metrics;
  readonly #log: Logger;
  readonly #router: () => Router<BackendPool>;
  readonly #byRequest = new WeakMap<IncomingMessage, Tunnel>();

  constructor(deps: { metrics: Metrics; log: Logger; router: () => Router<BackendPool> }) {
    this.#metrics = deps.metrics;
    this.#log = deps.log;
    this.#router = deps.router;
    // Errors are handled per call; this keeps an unhandled 'error' from crashing the process.
    this.#proxy.on('error', () => {});
    this.#proxy.on('proxyReqWs', this.#onProxyReqWs);
  }

  get open(): number {
    return this.#tunnels.size;
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const rejection = checkRequest(req);
    if (rejection !== null) {
      this.#metrics.rejected.inc({ reason: rejection.code });
      refuse(socket, rejection.status, rejection.code);
      return;
    }
    const requestId = requestIdFor(req.headers['x-request-id']);
    const pool = this.#router().match(req);
    if (pool === null) {
      this.#metrics.noRoute.inc();
      refuseWith(socket, Failures.noRoute, requestId);
      return;
    }
    const backend = pool.pick(null, pool.chooser?.choose(req) ?? null);
    if (backend === undefined) {
      this.#metrics.websocketUpgrades.inc({ pool: pool.name, result: 'no-ready-backend' });
      refuseWith(socket, Failures.noReadyBackend, requestId);
      return;
    }
    let closed = false;
    const tunnel: Tunnel = { client: socket, upstream: null, backend, close: null, closed: () => closed, rejected: false, takeOver: null };
    this.#tunnels.add(tunnel);
    backend.inflight++;
    this.#metrics.websocketOpen.inc();
    const close = (result: string | null): void => {
      if (closed) return;
      closed = true;
      this.#tunnels.delete(tunnel);
      backend.inflight--;
      this.#metrics.websocketOpen.dec();
      if (result !== null) this.#metrics.websocketUpgrades.inc({ pool: pool.name, result });
      tunnel.upstream?.destroy();
      destroyAfterFlush(socket);
    };
    // http-proxy does not abort its upstream request when the client goes away mid-upgrade (#1586).
    socket.once('close', () => close(outcome(tunnel)));
    // Nothing reads the client socket until the 101, so a client that leaves before it would go unseen
    // (no 'end' without a read): read now, keep any early bytes, and give them back to the tunnel.
    const early: Buffer[] = [];
    const keepEarly = (chunk: Buffer): void => {
      early.push(chunk);
    };
    socket.on('data', keepEarly);
    socket.once('end', () => {
      if (tunnel.upstream === null) close(outcome(tunnel));
    });
    tunnel.takeOver = () => {
      socket.off('data', keepEarly);
      socket.pause();
      for (let i = early.length - 1; i >= 0; i--) socket.unshift(early[i]!);
    };
    req.headers['x-request-id'] = requestId;
    tunnel.close = close;
    this.#byRequest.set(req, tunnel);
    this.#proxy.ws(req, socket, head, { target: backend.origin }, (err: Error) => {
      const failure = classify(err);
      this.#log.warn({ requestId, backend: backend.id, error: failure.code, detail: err.message }, 'websocket upgrade failed');
      if (tunnel.upstream === null && !tunnel.rejected && socket.writable) refuseWith(socket, failure, requestId);
      close(tunnel.upstream === null && !tunnel.rejected ? failure.code : null);
    });
  }

  /** Ties http-proxy's upstream request and socket to our tunnel, so aborts on either side free both. */
  #onProxyReqWs = (proxyReq: ClientRequest, req: IncomingMessage): void => {
    const tunnel = this.#byRequest.get(req);
    if (tunnel === undefined) return;
    if (tunnel.closed()) {
      proxyReq.destroy();
      return;
    }
    tunnel.client.once('close', () => proxyReq.destroy());
    proxyReq.once('response', (res: IncomingMessage) => {
      if (res.statusCode === 101) return;
      tunnel.rejected = true;
      this.#metrics.websocketUpgrades.inc({ pool: tunnel.backend.pool, result: 'rejected' });
    });
    // Registered before http-proxy's own 'upgrade' listener, which pipes the sockets right after this.
    proxyReq.once('upgrade', (_res: IncomingMessage, proxySocket: Duplex) => {
      tunnel.takeOver?.();
      tunnel.upstream = proxySocket;
      this.#metrics.websocketUpgrades.inc({ pool: tunnel.backend.pool, result: 'upgraded' });
      proxySocket.once('close', () => tunnel.close?.(null));
      if (tunnel.closed()) proxySocket.destroy();
    });
  };

  /** Close every tunnel (drain). */
  closeAll(): void {
    for (const t of this.#tunnels) {
      t.client.end();
      t.client.destroy();
    }
  }
}

function classify(err: Error): FailureKind {
  const code = (err as { code?: string }).code;
  if (code === 'ECONNREFUSED') return Failures.connectRefused;
  if (code === 'ETIMEDOUT') return Failures.connectTimeout;
  return Failures.upstreamReset;
}

/** How an upgrade attempt ended, when the client socket closes; null when it was counted already. */
function outcome(tunnel: Tunnel): string | null {
  if (tunnel.upstream !== null || tunnel.rejected) return null;
  return 'client-aborted';
}

function refuseWith(socket: Duplex, failure: FailureKind, requestId: string): void {
  const body = failureBody(failure, requestId);
  const retryAfter = failure.status === 503 ? 'Retry-After: 1\r\n' : '';
  const head = `HTTP/1.1 ${failure.status} ${failure.code}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${requestId}\r\n${retryAfter}Connection: close\r\n\r\n`;
  send(socket, head + body);
}

function refuse(socket: Duplex, status: number, code: string): void {
  const body = `{"error":"${code}"}`;
  send(socket, `HTTP/1.1 ${status} ${code}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
}

/** Write a whole refusal, then close once it is flushed. */
function send(socket: Duplex, text: string): void {
  if (socket.writable) socket.end(text);
  destroyAfterFlush(socket);
}

/** Destroying a socket whose last bytes are still queued would drop them: wait for them when ended. */
function destroyAfterFlush(socket: Duplex): void {
  if (socket.writableEnded && !socket.writableFinished) socket.once('finish', () => socket.destroy());
  else socket.destroy();
}

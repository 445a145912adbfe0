// WebSocket upgrades, proxied with http-proxy (the one place it earns its keep), counted and drainable.
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import httpProxy from 'http-proxy';
import { Backend } from '../backends/backend.js';
import type { Cluster, PickRequest } from '../cluster/cluster.js';
import type { Logger } from '../observe/log.js';
import type { Router } from '../routing/routes.js';
import { rawFailure } from './error-body.js';
import { Failures, classifyUpstreamError } from './failures.js';
import { requestIdFor } from './request-id.js';
import { checkRequest } from './strict.js';

/** What WebSocket upgrades count (observe/metrics.ts implements it). */
export interface WebSocketStats {
  upgrade(pool: string, result: string): void;
  open(delta: 1 | -1): void;
  rejected(reason: string): void;
  noRoute(): void;
}

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
  readonly #stats: WebSocketStats;
  readonly #log: Logger;
  readonly #router: () => Router<Cluster>;
  readonly #byRequest = new WeakMap<IncomingMessage, Tunnel>();

  constructor(deps: { stats: WebSocketStats; log: Logger; router: () => Router<Cluster> }) {
    this.#stats = deps.stats;
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
      this.#stats.rejected(rejection.code);
      send(socket, rawFailure(rejection));
      return;
    }
    const requestId = requestIdFor(req.headers['x-request-id']);
    const pool = this.#router().match(req)?.pool ?? null;
    if (pool === null) {
      this.#stats.noRoute();
      send(socket, rawFailure(Failures.noRoute, requestId));
      return;
    }
    const picked = pool.pick(upgradeRequest(req));
    if (!(picked instanceof Backend)) {
      const failure = picked === 'overloaded' ? Failures.overloaded : Failures.noReadyBackend;
      this.#stats.upgrade(pool.name, failure.code);
      send(socket, rawFailure(failure, requestId));
      return;
    }
    const backend = picked;
    // A tunnel has its own socket, not one of the connection pool's: it does not count against the pool's slots.
    backend.tunnels++;
    let closed = false;
    const tunnel: Tunnel = { client: socket, upstream: null, backend, close: null, closed: () => closed, rejected: false, takeOver: null };
    this.#tunnels.add(tunnel);
    this.#stats.open(1);
    const close = (result: string | null): void => {
      if (closed) return;
      closed = true;
      this.#tunnels.delete(tunnel);
      // The backend slot taken by pick() is free again (a tunnel is no attempt the canary analysis judges).
      backend.tunnels--;
      pool.report('end', { backend, status: 0, latencyMs: -1, failure: null });
      this.#stats.open(-1);
      if (result !== null) this.#stats.upgrade(pool.name, result);
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
      const failure = classifyUpstreamError(err, Failures.upstreamReset);
      this.#log.warn({ requestId, backend: backend.id, error: failure.code, detail: err.message }, 'websocket upgrade failed');
      if (tunnel.upstream === null && !tunnel.rejected && socket.writable) send(socket, rawFailure(failure, requestId));
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
      this.#stats.upgrade(tunnel.backend.pool, 'rejected');
    });
    // Registered before http-proxy's own 'upgrade' listener, which pipes the sockets right after this.
    proxyReq.once('upgrade', (_res: IncomingMessage, proxySocket: Duplex) => {
      tunnel.takeOver?.();
      tunnel.upstream = proxySocket;
      this.#stats.upgrade(tunnel.backend.pool, 'upgraded');
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

/** How an upgrade attempt ended, when the client socket closes; null when it was counted already. */
function outcome(tunnel: Tunnel): string | null {
  if (tunnel.upstream !== null || tunnel.rejected) return null;
  return 'client-aborted';
}

/** An upgrade as pick() sees it: never queued (a client waiting for a tunnel gets its 503 now). */
function upgradeRequest(req: IncomingMessage): PickRequest {
  return { headers: req.headers, url: req.url, choice: null, tried: null, mayQueue: false, onSlot() {}, onQueueTimeout() {} };
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

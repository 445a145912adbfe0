// WebSocket upgrades, proxied with http-proxy (the one place it earns its keep), counted and drainable.
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import httpProxy from 'http-proxy';
import type { Backend } from '../backends/backend.js';
import type { BackendPool } from '../backends/pool.js';
import type { Metrics } from '../observe/metrics.js';
import type { Logger } from '../observe/log.js';
import type { Router } from '../routing/routes.js';
import { Failures, type FailureKind } from './failures.js';
import { requestIdFor } from './request-id.js';
import { checkRequest } from './strict.js';

interface Tunnel {
  client: Duplex;
  upstream: Duplex | null;
  backend: Backend;
  close: ((result: string) => void) | null;
  closed(): boolean;
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
      refuseWith(socket, Failures.noRoute);
      return;
    }
    const backend = pool.pick(null);
    if (backend === undefined) {
      this.#metrics.websocketUpgrades.inc({ pool: pool.name, result: 'no-ready-backend' });
      refuseWith(socket, Failures.noReadyBackend);
      return;
    }
    let closed = false;
    const tunnel: Tunnel = { client: socket, upstream: null, backend, close: null, closed: () => closed };
    this.#tunnels.add(tunnel);
    backend.inflight++;
    this.#metrics.websocketOpen.inc();
    const close = (result: string): void => {
      if (closed) return;
      closed = true;
      this.#tunnels.delete(tunnel);
      backend.inflight--;
      this.#metrics.websocketOpen.dec();
      this.#metrics.websocketUpgrades.inc({ pool: pool.name, result });
      tunnel.upstream?.destroy();
      socket.destroy();
    };
    // http-proxy does not abort its upstream request when the client goes away mid-upgrade (#1586).
    socket.once('close', () => close(tunnel.upstream === null ? 'client-aborted' : 'closed'));
    req.headers['x-request-id'] = requestId;
    tunnel.close = close;
    this.#byRequest.set(req, tunnel);
    this.#proxy.ws(req, socket, head, { target: backend.origin }, (err: Error) => {
      const failure = classify(err);
      this.#log.warn({ requestId, backend: backend.id, error: failure.code, detail: err.message }, 'websocket upgrade failed');
      if (tunnel.upstream === null && socket.writable) refuseWith(socket, failure);
      close(failure.code);
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
    proxyReq.once('upgrade', (_res: IncomingMessage, proxySocket: Duplex) => {
      tunnel.upstream = proxySocket;
      proxySocket.once('close', () => tunnel.close?.('closed'));
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

function refuseWith(socket: Duplex, failure: FailureKind): void {
  refuse(socket, failure.status, failure.code);
}

function refuse(socket: Duplex, status: number, code: string): void {
  const body = `{"error":"${code}"}`;
  if (socket.writable) {
    socket.end(`HTTP/1.1 ${status} ${code}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy();
}

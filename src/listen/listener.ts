// One proxy listener: a TCP port that speaks HTTP/1.1 and HTTP/2 (h2c with prior knowledge in cleartext, h2 through
// ALPN with TLS), counts and limits its connections, rotates its certificate without a restart, and drains on shutdown.
//
//   TCP accept ── limits ──┬─ cleartext: sniff the first bytes ──┬─ HTTP/1.x → Node's HTTP/1.1 server
//                          │                                      └─ h2 preface → Node's HTTP/2 server
//                          └─ TLS handshake (ALPN) ───────────────┬─ http/1.1 → Node's HTTP/1.1 server
//                                                                 └─ h2 → Node's HTTP/2 server
// Both protocols end in the same request handler (HTTP/2 through Node's compatibility API), so every request goes
// through the same phases, limits and errors. Node's HTTP/1.1 server keeps the port: its timeouts, connection
// tracking and close() semantics stay Node's own; only the connection listeners are re-wired.
import http from 'node:http';
import https from 'node:https';
import http2 from 'node:http2';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { ListenerConfig, ListenerTlsConfig, ServerConfig } from '../config/types.js';
import { formatListen } from '../config/units.js';
import { ConnectionLimits, openFileLimit, resolveLimits, type Refusal } from './limits.js';
import { sniffProtocol } from './sniff.js';
import { readTlsMaterial, watchTlsFiles, type TlsMaterial } from './tls-files.js';

export interface ListenerStats {
  refused(listener: string, reason: Refusal): void;
  tlsHandshakeFailed(listener: string): void;
  tlsReloaded(listener: string, ok: boolean): void;
  certificateExpiry(listener: string, notAfterMs: number | null): void;
}

export interface ListenerHandlers {
  /** Every request, HTTP/1.1 or HTTP/2 (Node's compatibility request/response, which has the same surface we use). */
  request(req: http.IncomingMessage, res: http.ServerResponse): void;
  upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void;
  clientError(err: Error & { code?: string }, socket: Duplex): void;
  connect(req: http.IncomingMessage, socket: Duplex): void;
}

/** HTTP/2 connection-level receive window: room for every stream's own window (128 x 64 KiB), as nginx raises it. */
const CONNECTION_WINDOW_BYTES = 8 * 1024 * 1024;

/** How often Node checks headersTimeout / requestTimeout (its default, 30 s, lets a 10 s timeout fire at up to 40 s). */
export const TIMEOUT_CHECK_MS = 500;

type ConnectionListener = (this: unknown, socket: Duplex) => void;

/** node:http binds the response in progress to its socket (Node's own clientError default reads it too). */
type HttpSocket = Duplex & { _httpMessage?: http.ServerResponse | null };

export class Listener {
  /** "host:port" as configured: the listener label of metrics and logs. */
  readonly name: string;
  readonly config: ListenerConfig;
  readonly #server: http.Server;
  readonly #h2: http2.Http2Server | null;
  readonly #limits: ConnectionLimits;
  readonly #stats: ListenerStats;
  readonly #log: Logger;
  #serverConfig: ServerConfig;
  /** Cleartext connections whose first bytes have not told their protocol yet: silent ones, closed first on drain. */
  readonly #sniffing = new Set<Socket>();
  readonly #sockets = new Set<Socket>();
  readonly #sessions = new Set<http2.ServerHttp2Session>();
  /** Sockets handed to the HTTP/2 server: their sessions are closed with GOAWAY, not destroyed. */
  readonly #h2Sockets = new WeakSet<Duplex>();
  /** TCP socket -> the TLS socket over it, which node:http serves (TLS listeners). */
  readonly #tlsOver = new WeakMap<Duplex, Duplex>();
  readonly #streams = new WeakMap<http2.ServerHttp2Session, number>();
  #draining = false;
  #tls: { config: ListenerTlsConfig; material: TlsMaterial; unwatch: () => void } | null = null;

  constructor(config: ListenerConfig, server: ServerConfig, handlers: ListenerHandlers, deps: { stats: ListenerStats; log: Logger; fdLimit?: number | null }) {
    this.config = config;
    this.name = formatListen(config);
    this.#serverConfig = server;
    this.#stats = deps.stats;
    this.#log = deps.log;
    const limits = resolveLimits(config.maxConnections, config.maxConnectionsPerClient, deps.fdLimit === undefined ? openFileLimit() : deps.fdLimit);
    this.#limits = new ConnectionLimits(limits.max, limits.perClient);

    const httpOptions = {
      keepAliveTimeout: server.keepAliveTimeoutMs,
      headersTimeout: server.headersTimeoutMs,
      requestTimeout: server.requestTimeoutMs,
      connectionsCheckingInterval: TIMEOUT_CHECK_MS,
      maxHeaderSize: server.maxHeaderBytes,
      insecureHTTPParser: false,
      joinDuplicateHeaders: false,
      // strict.ts answers a missing Host itself, with the JSON body, metric and request id.
      requireHostHeader: false,
      // Only WebSocket upgrades take the tunnel path; anything else (h2c upgrade, ...) is proxied as a plain request.
      shouldUpgradeCallback: (req: http.IncomingMessage) => /\bwebsocket\b/i.test(req.headers.upgrade ?? ''),
    } as http.ServerOptions;
    // Nothing per request here: which connections are idle is read from node:http's own state when it matters.
    const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => handlers.request(req, res);

    this.#h2 = config.http2 ? this.#createHttp2(server, handlers) : null;
    if (config.tls === null) {
      this.#server = http.createServer(httpOptions, onRequest);
    } else {
      const material = readTlsMaterial(config.tls);
      this.#server = https.createServer({ ...httpOptions, ...this.#tlsOptions(config.tls, material), handshakeTimeout: server.headersTimeoutMs }, onRequest);
      this.#tls = { config: config.tls, material, unwatch: watchTlsFiles(config.tls, () => this.reloadTls()) };
      this.#stats.certificateExpiry(this.name, material.notAfterMs);
      this.#server.on('tlsClientError', () => this.#stats.tlsHandshakeFailed(this.name));
      this.#rewire('secureConnection', (h1) => (socket) => this.#onSecure(socket as TLSSocket, h1));
    }
    this.#rewire('connection', (next) => (socket) => this.#onConnection(socket as Socket, next));
    this.#server.on('clientError', handlers.clientError);
    this.#server.on('connect', handlers.connect);
    this.#server.on('upgrade', handlers.upgrade);
  }

  /** Replaces Node's own listener of `event` with ours, which calls it when the connection is HTTP/1.x. */
  #rewire(event: 'connection' | 'secureConnection', wrap: (original: ConnectionListener) => ConnectionListener): void {
    const [original] = this.#server.listeners(event) as ConnectionListener[];
    if (original === undefined) throw new Error(`node:http has no ${event} listener to wrap`);
    this.#server.removeListener(event, original);
    const server = this.#server;
    const wrapped = wrap((socket) => original.call(server, socket));
    this.#server.on(event, wrapped);
  }

  #tlsOptions(c: ListenerTlsConfig, m: TlsMaterial): https.ServerOptions {
    return {
      ...m.options,
      ALPNProtocols: this.#h2 === null ? ['http/1.1'] : ['h2', 'http/1.1'],
      requestCert: c.clientAuth !== 'none',
      // `optional`: a certificate that was sent must verify (checked after the handshake); none at all is fine.
      rejectUnauthorized: c.clientAuth === 'require',
    };
  }

  #createHttp2(server: ServerConfig, handlers: ListenerHandlers): http2.Http2Server {
    const h2 = http2.createServer({
      settings: { maxConcurrentStreams: server.h2MaxConcurrentStreams, maxHeaderListSize: server.maxHeaderBytes, enablePush: false },
      maxHeaderListPairs: 256,
      strictFieldWhitespaceValidation: true,
    } as http2.ServerOptions);
    const request = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse): void =>
      // The compatibility API mirrors IncomingMessage / ServerResponse for everything the proxy path touches.
      handlers.request(req as unknown as http.IncomingMessage, res as unknown as http.ServerResponse);
    h2.on('request', request);
    // CONNECT goes through the same strictness check, which refuses it as HTTP/1.1's does.
    h2.on('connect' as 'request', request);
    h2.on('session', (session) => this.#onSession(session));
    return h2;
  }

  #onConnection(socket: Socket, h1: (socket: Duplex) => void): void {
    const address = socket.remoteAddress ?? '';
    const refusal = this.#limits.admit(address);
    if (refusal !== null) {
      this.#stats.refused(this.name, refusal);
      socket.destroy();
      return;
    }
    this.#sockets.add(socket);
    socket.once('close', () => {
      this.#limits.release(address);
      this.#sockets.delete(socket);
    });
    // TLS: the handshake comes first (Node's TLS listener), then ALPN decides in #onSecure.
    if (this.config.tls !== null || this.#h2 === null) {
      h1(socket);
      return;
    }
    this.#sniffing.add(socket);
    sniffProtocol(socket, this.#serverConfig.headersTimeoutMs, (protocol, head) => {
      this.#sniffing.delete(socket);
      if (protocol === 'h2') {
        // node:http's server accepts half-open sockets; for HTTP/2 a FIN from the client ends the session, as with
        // node:http2's own server (else a client that hangs up mid-stream is never noticed upstream).
        socket.allowHalfOpen = false;
        // node:http2 picks up bytes already read from the socket's buffer.
        socket.pause();
        socket.unshift(head);
        this.#h2Sockets.add(socket);
        this.#h2!.emit('connection', socket);
      } else {
        // node:http consumes the socket's handle directly: bytes already read are handed to its parser as data.
        h1(socket);
        socket.emit('data', head);
      }
    }, () => this.#sniffing.delete(socket));
  }

  #onSecure(socket: TLSSocket, h1: (socket: Duplex) => void): void {
    if (this.#tls?.config.clientAuth === 'optional' && !socket.authorized && Object.keys(socket.getPeerCertificate()).length > 0) {
      this.#stats.tlsHandshakeFailed(this.name);
      socket.destroy();
      return;
    }
    // #sockets holds the TCP socket under this TLS one.
    const raw = (socket as TLSSocket & { _parent?: Duplex })._parent ?? socket;
    if (socket.alpnProtocol === 'h2' && this.#h2 !== null) {
      this.#h2Sockets.add(raw);
      this.#h2.emit('connection', socket);
    } else {
      this.#tlsOver.set(raw, socket);
      h1(socket);
    }
  }

  #onSession(session: http2.ServerHttp2Session): void {
    this.#sessions.add(session);
    this.#streams.set(session, 0);
    session.on('stream', (stream) => {
      this.#streams.set(session, (this.#streams.get(session) ?? 0) + 1);
      stream.once('close', () => {
        const left = (this.#streams.get(session) ?? 1) - 1;
        this.#streams.set(session, left);
        // A session drained (shutdown) or idle goes away once its last stream is done.
        if (left === 0 && this.#draining) session.close();
      });
    });
    session.once('close', () => this.#sessions.delete(session));
    // The connection window (64 KiB by default, shared by every stream) would cap a large upload — a tensor in a
    // gRPC ModelInfer — at 64 KiB per round trip; each stream keeps its own 64 KiB window, so backpressure holds.
    session.once('localSettings', () => session.setLocalWindowSize(CONNECTION_WINDOW_BYTES));
    session.on('error', () => undefined);
    // keepAliveTimeout for HTTP/2: a session without streams that stays quiet is closed (GOAWAY); one with a
    // stream open (a token stream waiting for its next event) is left to the pool's timeouts.
    session.setTimeout(this.#serverConfig.keepAliveTimeoutMs, () => {
      if ((this.#streams.get(session) ?? 0) === 0) session.close();
      else session.setTimeout(this.#serverConfig.keepAliveTimeoutMs);
    });
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.config.port, this.config.host, () => {
        this.#server.off('error', reject);
        resolve(this.port);
      });
    });
  }

  get port(): number {
    const a = this.#server.address();
    return a !== null && typeof a === 'object' ? a.port : this.config.port;
  }

  get listening(): boolean {
    return this.#server.listening;
  }

  /** Client connections open now (every protocol, TLS handshakes included). */
  get connections(): number {
    return this.#limits.open;
  }

  get limits(): { max: number; perClient: number } {
    return { max: this.#limits.max, perClient: this.#limits.maxPerClient };
  }

  /** Client-side timeouts are plain properties of the server, so a reload changes them in place. */
  applyServerConfig(s: ServerConfig): void {
    this.#serverConfig = s;
    this.#server.keepAliveTimeout = s.keepAliveTimeoutMs;
    this.#server.headersTimeout = s.headersTimeoutMs;
    this.#server.requestTimeout = s.requestTimeoutMs;
  }

  /** A reload may point the listener at other certificate files: watch those from now on. */
  applyTlsConfig(c: ListenerTlsConfig | null): void {
    if (this.#tls === null || c === null) return;
    if (c.certFile !== this.#tls.config.certFile || c.keyFile !== this.#tls.config.keyFile || c.caFile !== this.#tls.config.caFile || c.clientAuth !== this.#tls.config.clientAuth || c.minVersion !== this.#tls.config.minVersion) {
      this.#tls.unwatch();
      this.#tls = { ...this.#tls, config: c, unwatch: watchTlsFiles(c, () => this.reloadTls()) };
      this.reloadTls(true);
      return;
    }
    this.reloadTls();
  }

  /**
   * Re-reads the certificate files; new handshakes use them, open connections keep theirs. A half-written pair
   * (cert renewed, key not yet) fails to load: the old one stays and the next change tries again.
   */
  reloadTls(force = false): void {
    const tls = this.#tls;
    if (tls === null) return;
    let material: TlsMaterial;
    try {
      material = readTlsMaterial(tls.config);
      if (!force && material.fingerprint === tls.material.fingerprint) return;
      const options = this.#tlsOptions(tls.config, material);
      const server = this.#server as https.Server & { requestCert: boolean; rejectUnauthorized: boolean };
      server.setSecureContext(options);
      // setSecureContext swaps certificates only; whether to ask for and require a client certificate are properties
      // of the server, read for every new connection (a reload from clientAuth none to require must enforce mTLS).
      server.requestCert = options.requestCert === true;
      server.rejectUnauthorized = options.rejectUnauthorized === true;
    } catch (err) {
      this.#stats.tlsReloaded(this.name, false);
      this.#log.warn({ listener: this.name, err: (err as Error).message }, 'TLS certificate reload failed; keeping the previous certificate');
      return;
    }
    tls.material = material;
    this.#stats.tlsReloaded(this.name, true);
    this.#stats.certificateExpiry(this.name, material.notAfterMs);
    this.#log.info({ listener: this.name, notAfter: material.notAfterMs === null ? null : new Date(material.notAfterMs).toISOString() }, 'TLS certificate reloaded');
  }

  /**
   * Shutdown begins: HTTP/2 clients get GOAWAY (open streams finish, new ones go to a new connection: the HTTP/2 form
   * of `Connection: close`), and a session opened from now on is closed after its last stream; silent connections
   * that never sent a byte are closed at once.
   */
  goAway(): void {
    this.#draining = true;
    for (const s of this.#sessions) s.close();
    for (const raw of this.#sockets) {
      if (this.#h2Sockets.has(raw)) continue;
      const res = this.#h1Of(raw)._httpMessage;
      if (res === undefined || res === null) continue;
      // In progress: answered with `Connection: close` if its head is still to go; else closed once it is done
      // (its head said keep-alive, and server.close() would wait for keepAliveTimeout).
      if (!res.headersSent) res.shouldKeepAlive = false;
      else res.once('close', () => setImmediate(() => this.#destroyIfIdle(raw)));
    }
  }

  /**
   * Closes every connection with no request in progress: keep-alive between requests, silent, half-sent headers
   * (Node's closeIdleConnections keeps those until headersTimeout), mid-handshake, HTTP/2 without streams.
   */
  closeIdle(): void {
    this.#server.closeIdleConnections();
    for (const raw of this.#sockets) if (!this.#h2Sockets.has(raw)) this.#destroyIfIdle(raw);
    for (const s of this.#sessions) if ((this.#streams.get(s) ?? 0) === 0) s.close();
  }

  #h1Of(raw: Duplex): HttpSocket {
    return (this.#tlsOver.get(raw) ?? raw) as HttpSocket;
  }

  #destroyIfIdle(raw: Duplex): void {
    const res = this.#h1Of(raw)._httpMessage;
    if (res === undefined || res === null) raw.destroy();
  }

  /** Stops accepting; resolves once every connection of this listener has closed. */
  close(): Promise<void> {
    this.#draining = true;
    this.#tls?.unwatch();
    return new Promise((resolve) => (this.#server.listening ? this.#server.close(() => resolve()) : resolve()));
  }

  closeAll(): void {
    this.#server.closeAllConnections();
    for (const s of this.#sessions) s.destroy();
    for (const s of this.#sockets) s.destroy();
  }
}

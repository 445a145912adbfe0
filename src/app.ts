// Composition root: turns a Config plus real dependencies (clock, random, logs, metrics) into a running app.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DestinationStream } from 'pino';
import { Agent } from 'undici';
import { createAdminServer } from './admin/server.js';
import type { Backend, StateChange } from './backends/backend.js';
import type { BackendPool } from './backends/pool.js';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config/types.js';
import { systemResolve, type Resolve } from './discovery/dns.js';
import type { HealthController } from './health/controller.js';
import { applyLogConfig, createLoggers, type Loggers } from './observe/log.js';
import { Metrics } from './observe/metrics.js';
import { handleRequest, type RequestContext } from './proxy/phases.js';
import { onClientError, onConnect } from './proxy/strict.js';
import { WebSocketProxy } from './proxy/websocket.js';
import { RolloutManager } from './rollout/manager.js';
import { Runtime } from './runtime.js';
import { VERSION } from './version.js';

export interface AppDeps {
  clock: Clock;
  random: () => number;
  /** Where logs go (tests inject a stream and parse the JSON lines). */
  logDestination?: DestinationStream;
  /** Collect Node's default process metrics (off in tests to keep them quiet). */
  defaultMetrics?: boolean;
  /** DNS look-up for `discover` (tests inject one); default: the system resolver. */
  resolve?: Resolve;
}

export interface Listening {
  port: number;
  adminPort: number;
}

export class App {
  readonly metrics: Metrics;
  readonly loggers: Loggers;
  readonly #deps: AppDeps;
  #runtime: Runtime;
  readonly #server: http.Server;
  readonly #admin: http.Server;
  readonly #ws: WebSocketProxy;
  readonly #probeAgent = new Agent({ connections: 4, pipelining: 1 });
  readonly rollouts: RolloutManager;
  #started = false;
  #draining = false;
  #shutdown: Promise<void> | null = null;
  /**
   * A response whose headers went out before the drain began said keep-alive; once it ends, its connection
   * is idle and must be closed now, or server.close() waits for keepAliveTimeout on every such client.
   */
  readonly #afterResponse = (): void => {
    if (this.#draining) setImmediate(this.#closeIdle);
  };
  readonly #closeIdle = (): void => {
    this.#server.closeIdleConnections();
  };

  constructor(config: Config, deps: Partial<AppDeps> = {}) {
    this.#deps = { clock: deps.clock ?? systemClock, random: deps.random ?? Math.random, ...deps };
    this.loggers = createLoggers(config.log, deps.logDestination);
    this.metrics = new Metrics(VERSION, { defaultMetrics: deps.defaultMetrics ?? true });
    this.rollouts = new RolloutManager({ clock: this.#deps.clock, random: this.#deps.random, log: this.loggers.log, metrics: this.metrics }, config.stateFile);
    this.#runtime = this.#build(config, null);
    this.metrics.setBackendSource(() => this.#runtime.byId.values());
    this.metrics.configLastReloadSuccess.set(1);
    this.metrics.configLastReloadSeconds.set(Date.now() / 1000);

    const loggers = this.loggers;
    const ctx: RequestContext = {
      clock: this.#deps.clock,
      metrics: this.metrics,
      // A getter: a reload may switch the access log on or off.
      get access() {
        return loggers.access;
      },
      log: this.loggers.log,
      draining: () => this.#draining,
      router: () => this.#runtime.router,
    };
    const s = config.server;
    this.#server = http.createServer(
      {
        keepAliveTimeout: s.keepAliveTimeoutMs,
        headersTimeout: s.headersTimeoutMs,
        requestTimeout: s.requestTimeoutMs,
        maxHeaderSize: s.maxHeaderBytes,
        insecureHTTPParser: false,
        joinDuplicateHeaders: false,
        // strict.ts answers a missing Host itself, with the JSON body, metric and request id.
        requireHostHeader: false,
        // Only WebSocket upgrades take the tunnel path; anything else (h2c, ...) is proxied as a plain request.
        shouldUpgradeCallback: (req: http.IncomingMessage) => /\bwebsocket\b/i.test(req.headers.upgrade ?? ''),
      } as http.ServerOptions,
      (req, res) => {
        res.on('close', this.#afterResponse); // fires once; on() spares once()'s per-request wrapper
        handleRequest(ctx, req, res);
      },
    );
    this.#server.on('clientError', onClientError);
    this.#server.on('connect', onConnect);
    this.#ws = new WebSocketProxy({ metrics: this.metrics, log: this.loggers.log, router: () => this.#runtime.router });
    this.#server.on('upgrade', (req, socket, head) => this.#ws.handleUpgrade(req, socket, head));
    this.#admin = createAdminServer({
      metrics: this.metrics,
      token: () => this.#runtime.config.admin.token,
      now: () => this.#deps.clock.now(),
      pools: () => this.#runtime.pools.values(),
      draining: () => this.#draining,
      rollouts: this.rollouts,
      recent: (b) => {
        const entry = this.#runtime.detectors.get(b.pool);
        if (entry === undefined) return null;
        const v = entry.detector.view(b);
        const remaining = v.ejectedUntilMs === null ? null : Math.max(0, Math.round(v.ejectedUntilMs - this.#deps.clock.now()));
        return { windowMs: entry.detector.windowMs, requests: v.recentRequests, errors: v.recentErrors, ejectionRemainingMs: remaining };
      },
      actions: {
        pushReady: (id) => this.#controllerAction(id, (c) => c.pushReady()),
        pushUnready: (id) => this.#controllerAction(id, (c) => c.pushUnready()),
        drain: (id) => this.#backendAction(id, (b) => b.apply({ type: 'drain' }, 'drained by operator')),
        enable: (id) => this.#backendAction(id, (b) => b.apply({ type: 'undrain' }, 'enabled by operator')),
      },
    });
  }

  #controllerAction(id: string, act: (c: HealthController) => void): Backend | null {
    const c = this.#runtime.controllers.get(id);
    const b = this.#runtime.byId.get(id);
    if (c === undefined || b === undefined) return null;
    act(c);
    return b;
  }

  #backendAction(id: string, act: (b: Backend) => void): Backend | null {
    const b = this.#runtime.byId.get(id);
    if (b === undefined) return null;
    act(b);
    return b;
  }

  get config(): Config {
    return this.#runtime.config;
  }

  pools(): Iterable<BackendPool> {
    return this.#runtime.pools.values();
  }

  backend(id: string): Backend | undefined {
    return this.#runtime.byId.get(id);
  }

  async start(): Promise<Listening> {
    const { listen, admin } = this.#runtime.config;
    await listenOn(this.#admin, admin.listen.host, admin.listen.port);
    await listenOn(this.#server, listen.host, listen.port);
    await this.rollouts.loadStateFile();
    this.rollouts.build(this.#runtime.pools.values(), this.#runtime.rollouts);
    this.#started = true;
    this.#runtime.start();
    this.loggers.log.info({ listen: `${listen.host}:${port(this.#server)}`, admin: `${admin.listen.host}:${port(this.#admin)}`, pools: [...this.#runtime.pools.keys()] }, 'infergate started');
    return { port: port(this.#server), adminPort: port(this.#admin) };
  }

  /** Swap in a new (already validated) configuration; health state of backends kept by id. */
  reload(config: Config): void {
    // Probers started now would outlive close(): a shutdown in progress wins over a late SIGHUP.
    if (this.#draining) {
      this.loggers.log.warn('configuration reload ignored: shutting down');
      return;
    }
    const old = this.#runtime;
    const next = this.#build(config, old);
    this.#runtime = next;
    applyLogConfig(this.loggers, config.log);
    this.#applyServerConfig(config);
    old.handOver(next);
    next.start();
    if (this.#started) this.rollouts.build(next.pools.values(), next.rollouts);
    this.metrics.configReloads.inc({ result: 'success' });
    this.metrics.configLastReloadSuccess.set(1);
    this.metrics.configLastReloadSeconds.set(Date.now() / 1000);
    this.loggers.log.info({ pools: [...next.pools.keys()], backends: next.byId.size }, 'configuration reloaded');
    if (listenChanged(old.config, config)) this.loggers.log.warn('listen addresses changed in the new configuration: restart infergate to apply them');
    if (old.config.server.maxHeaderBytes !== config.server.maxHeaderBytes) this.loggers.log.warn('server.maxHeaderSize changed in the new configuration: restart infergate to apply it');
  }

  /** Client-side timeouts are plain properties of the listener, so a reload can change them in place. */
  #applyServerConfig(config: Config): void {
    const s = config.server;
    this.#server.keepAliveTimeout = s.keepAliveTimeoutMs;
    this.#server.headersTimeout = s.headersTimeoutMs;
    this.#server.requestTimeout = s.requestTimeoutMs;
  }

  /** Record a reload that failed validation: the old configuration keeps serving. */
  reloadFailed(message: string): void {
    this.metrics.configReloads.inc({ result: 'failure' });
    this.metrics.configLastReloadSuccess.set(0);
    this.loggers.log.error({ errors: message }, 'configuration reload failed; keeping the previous configuration');
  }

  /**
   * Graceful shutdown: /readyz turns 503, the listener stops accepting, idle keep-alive connections
   * close, in-flight requests (streams included) finish up to shutdown.drainTimeout, then everything closes.
   */
  shutdown(): Promise<void> {
    this.#shutdown ??= this.#doShutdown();
    return this.#shutdown;
  }

  async #doShutdown(): Promise<void> {
    this.#draining = true;
    const log = this.loggers.log;
    const drainMs = this.#runtime.config.shutdown.drainTimeoutMs;
    log.info({ drainTimeoutMs: drainMs }, 'shutting down: draining in-flight requests');
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeIdleConnections();
    this.#ws.closeAll();
    let timedOut = false;
    const timer = this.#deps.clock.setTimer(drainMs, () => {
      timedOut = true;
      this.#server.closeAllConnections();
    });
    await closed;
    timer.cancel();
    if (timedOut) log.warn('drain timeout reached: remaining connections were closed');
    await this.close();
    log.info('infergate stopped');
  }

  /** Immediate stop of everything (tests, and the end of shutdown). */
  async close(): Promise<void> {
    this.#draining = true;
    this.#runtime.stop();
    this.rollouts.stop();
    this.#server.closeAllConnections();
    await Promise.all([
      new Promise<void>((r) => (this.#server.listening ? this.#server.close(() => r()) : r())),
      new Promise<void>((r) => {
        if (!this.#admin.listening) return r();
        this.#admin.close(() => r());
        this.#admin.closeAllConnections();
      }),
    ]);
    this.#ws.closeAll();
    // Everything that had to finish has finished (or the drain timed out): do not wait on upstream requests.
    await Promise.all([...this.#runtime.byId.values()].map((b) => b.destroy()));
    await this.#probeAgent.close().catch(() => undefined);
    await this.rollouts.flush();
    this.loggers.log.flush();
  }

  #build(config: Config, previous: Runtime | null): Runtime {
    return new Runtime(config, previous, {
      clock: this.#deps.clock,
      random: this.#deps.random,
      metrics: this.metrics,
      log: this.loggers.log,
      probeDispatcher: this.#probeAgent,
      resolve: this.#deps.resolve ?? systemResolve,
      onStateChange: (c) => this.#onStateChange(c),
      onMembersChanged: (b) => this.rollouts.backendChanged(b),
      current: () => this.#runtime,
    });
  }

  #onStateChange(c: StateChange): void {
    const b = c.backend;
    this.metrics.transitions.inc({ pool: b.pool, group: b.group, backend: b.id, from: c.from, to: c.to });
    const entry = { backend: b.id, pool: b.pool, group: b.group, from: c.from, to: c.to, reason: c.reason };
    if (c.to === 'READY') this.loggers.log.info(entry, 'backend state changed');
    else this.loggers.log.warn(entry, 'backend state changed');
    if (c.to === 'READY') {
      // Back in service through every check: an ejection still on the books is over (see backends/state.ts serve()).
      this.#runtime?.detectors.get(b.pool)?.detector.readmitted(b);
      // A backend that became READY is capacity for requests waiting in its pool's queue.
      this.#runtime?.pools.get(b.pool)?.wake();
    }
    this.rollouts?.backendChanged(b);
  }
}

function listenOn(server: http.Server, host: string, portNumber: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(portNumber, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function port(server: http.Server): number {
  return (server.address() as AddressInfo).port;
}

function listenChanged(a: Config, b: Config): boolean {
  return a.listen.host !== b.listen.host || a.listen.port !== b.listen.port || a.admin.listen.host !== b.admin.listen.host || a.admin.listen.port !== b.admin.listen.port;
}

export function createApp(config: Config, deps: Partial<AppDeps> = {}): App {
  return new App(config, deps);
}

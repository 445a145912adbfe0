// Composition root: turns a Config plus real dependencies (clock, random, logs, metrics) into a running app.
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { DestinationStream } from 'pino';
import { Agent } from 'undici';
import { RuntimeChanges } from './admin/changes.js';
import { createAdminServer } from './admin/server.js';
import { EtcdCoordination } from './coordination/etcd.js';
import type { Backend } from './backends/backend.js';
import type { Cluster } from './cluster/cluster.js';
import { EventStream, type ClusterEvent } from './cluster/events.js';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config/types.js';
import { systemResolve, type Resolve } from './discovery/dns.js';
import { logClusterEvents } from './observe/event-log.js';
import { Loggers } from './observe/log.js';
import { Metrics } from './observe/metrics.js';
import { Listener } from './listen/listener.js';
import { handleRequest, type RequestContext } from './proxy/phases.js';
import { onClientError, onConnect } from './proxy/strict.js';
import { WebSocketProxy } from './proxy/websocket.js';
import { RolloutManager } from './rollout/manager.js';
import { Runtime } from './runtime.js';
import { VERSION } from './version.js';
import type { WorkerLink } from './workers/worker.js';
import type { Registry } from 'prom-client';

export interface AppDeps {
  clock: Clock;
  random: () => number;
  /** Where logs go (tests inject a stream and parse the JSON lines); default: the process's stdout. */
  logDestination?: DestinationStream;
  /** Stands for the process's stderr (an access log with `to: stderr`). */
  logStderr?: DestinationStream;
  /** Collect Node's default process metrics (off in tests to keep them quiet). */
  defaultMetrics?: boolean;
  /** DNS look-up for `discover` (tests inject one); default: the system resolver. */
  resolve?: Resolve;
  /**
   * `single` (default): one process does everything. With `workers: N`: the `owner` runs probes, outlier detection,
   * discovery, rollouts and the admin listener and serves no requests; each `worker` serves requests on the shared
   * listeners and routes by the owner's view (workers/).
   */
  role?: 'single' | 'owner' | 'worker';
  /** This replica's name in the shared view (coordination); default host-pid-random. */
  replica?: string;
  /** A worker's link to its owner. */
  worker?: WorkerLink;
  /** The owner's /metrics: the whole process tree (workers/owner.ts). */
  metricsSource?: Pick<Registry, 'metrics' | 'contentType'>;
}

export interface Listening {
  /** Port of the first proxy listener. */
  port: number;
  /** Ports of every proxy listener, in configuration order. */
  ports: number[];
  adminPort: number;
}

export class App {
  readonly role: 'single' | 'owner' | 'worker';
  readonly metrics: Metrics;
  readonly loggers: Loggers;
  readonly #deps: AppDeps;
  #runtime: Runtime;
  readonly #listeners: Listener[];
  /** Null in a worker: the owner answers the admin API for the whole process tree. */
  readonly #admin: http.Server | null;
  readonly #ws: WebSocketProxy;
  readonly #probeAgent = new Agent({ connections: 4, pipelining: 1 });
  readonly rollouts: RolloutManager;
  /** Rollouts and ejections shared with other replicas through etcd, or null (this replica decides alone). */
  readonly #coordination: EtcdCoordination | null;
  /** Operator changes through the admin API (weights, members, log level), dropped by the next reload. */
  readonly changes: RuntimeChanges;
  /** What happens to backends, from every cluster of every configuration: logs, metrics and rollouts subscribe. */
  readonly events = new EventStream<ClusterEvent>();
  #started = false;
  #draining = false;
  #shutdown: Promise<void> | null = null;
  readonly #closeIdle = (): void => {
    for (const l of this.#listeners) l.closeIdle();
  };

  constructor(config: Config, deps: Partial<AppDeps> = {}) {
    this.#deps = { clock: deps.clock ?? systemClock, random: deps.random ?? Math.random, ...deps };
    this.loggers = new Loggers(config.log, { stdout: deps.logDestination, stderr: deps.logStderr });
    this.metrics = new Metrics(VERSION, { defaultMetrics: deps.defaultMetrics ?? true, backends: () => this.#runtime.backends(),
      clientConnections: () => Promise.resolve(this.#listeners.reduce((n, l) => n + l.connections, 0)) });
    // Replicas share rollouts and ejections where the verdicts are made: in the owner or the only process, never a worker.
    this.#coordination = (deps.role ?? 'single') !== 'worker' && config.coordination !== null
      ? new EtcdCoordination(config.coordination, { log: this.loggers.log, stats: this.metrics.coordinationStats(), ...(deps.replica === undefined ? {} : { replica: deps.replica }) })
      : null;
    this.rollouts = new RolloutManager({ clock: this.#deps.clock, random: this.#deps.random, log: this.loggers.log, stats: this.metrics.rolloutStats() }, config.stateFile, this.#coordination);
    this.events.subscribe(this.metrics.onClusterEvent);
    // A worker's events mirror the owner's view: the owner logs them once for the whole process tree.
    if (deps.role !== 'worker') this.events.subscribe(logClusterEvents(this.loggers.log));
    this.events.subscribe(this.rollouts.onClusterEvent);
    const coordination = this.#coordination;
    if (coordination !== null) {
      // An ejection decided here applies on every replica; one decided elsewhere applies here.
      this.events.subscribe((e) => {
        if (e.type === 'ejected' && e.by === undefined) coordination.ejected({ backend: e.backend.id, reason: e.reason, detector: e.detector, durationMs: e.durationMs });
      });
      coordination.onEjection((e) => {
        const found = this.#runtime.find(e.backend);
        found?.cluster.adoptEjection(found.backend, e.detector, e.reason, e.durationMs, e.by);
      });
    }
    this.#runtime = this.#build(config, null);
    this.changes = new RuntimeChanges({
      running: () => this.#runtime,
      rollouts: this.rollouts,
      log: this.loggers.log,
      setLogLevel: (level) => {
        this.loggers.log.level = level;
      },
    });
    this.metrics.configLastReloadSuccess.set(1);
    this.metrics.configLastReloadSeconds.set(Date.now() / 1000);

    const loggers = this.loggers;
    const ctx: RequestContext = {
      clock: this.#deps.clock,
      stats: this.metrics.proxyStats(),
      // Read per request: a reload may switch the access log on or off.
      access: () => loggers.access,
      trustedProxies: () => this.#runtime.trustedProxies,
      log: this.loggers.log,
      draining: () => this.#draining,
      router: () => this.#runtime.router,
    };
    this.#ws = new WebSocketProxy({ stats: this.metrics.webSocketStats(), log: this.loggers.log, router: () => this.#runtime.router });
    const handlers = {
      request: (req: http.IncomingMessage, res: http.ServerResponse) => {
        handleRequest(ctx, req, res);
      },
      upgrade: (req: http.IncomingMessage, socket: Duplex, head: Buffer) => this.#ws.handleUpgrade(req, socket, head),
      clientError: onClientError,
      connect: onConnect,
    };
    const role = deps.role ?? 'single';
    this.role = role;
    this.#listeners = role === 'owner' ? [] : config.listeners.map((l) => new Listener(l, config.server, handlers, { stats: this.metrics.listenerStats(), log: this.loggers.log }));
    this.#admin = role === 'worker' ? null : createAdminServer({
      registry: deps.metricsSource ?? this.metrics.registry,
      token: () => this.#runtime.config.admin.token,
      now: () => this.#deps.clock.now(),
      pools: () => this.#runtime.clusters(),
      draining: () => this.#draining,
      rollouts: this.rollouts,
      coordination: () => this.#coordination?.status() ?? null,
      config: () => this.#runtime.config,
      changes: this.changes,
      recent: (b) => {
        const v = this.#runtime.cluster(b.pool)?.outlierView(b) ?? null;
        if (v === null) return null;
        const remaining = v.ejectedUntilMs === null ? null : Math.max(0, Math.round(v.ejectedUntilMs - this.#deps.clock.now()));
        return { windowMs: v.windowMs, requests: v.recentRequests, errors: v.recentErrors, ejections: v.ejections, ejectionRemainingMs: remaining };
      },
      actions: {
        pushReady: (id) => this.#act(id, (c, b) => c.push(b, true)),
        pushUnready: (id) => this.#act(id, (c, b) => c.push(b, false)),
        drain: (id) => this.#act(id, (c, b) => c.operator(b, true)),
        enable: (id) => this.#act(id, (c, b) => c.operator(b, false)),
      },
    });
  }

  /** An admin write action on one backend, through its cluster; null when the id is unknown. */
  #act(id: string, act: (c: Cluster, b: Backend) => void): Backend | null {
    const found = this.#runtime.find(id);
    if (found === undefined) return null;
    act(found.cluster, found.backend);
    return found.backend;
  }

  get config(): Config {
    return this.#runtime.config;
  }

  pools(): Iterable<Cluster> {
    return this.#runtime.clusters();
  }

  /** The running configuration's cluster of a pool. */
  cluster(pool: string): Cluster | undefined {
    return this.#runtime.cluster(pool);
  }

  backend(id: string): Backend | undefined {
    return this.#runtime.find(id)?.backend;
  }

  async start(): Promise<Listening> {
    const { admin } = this.#runtime.config;
    if (this.#admin !== null) await listenOn(this.#admin, admin.listen.host, admin.listen.port);
    const ports: number[] = [];
    for (const l of this.#listeners) ports.push(await l.listen());
    // Rollouts run where the verdicts are made: never in a worker.
    if (this.role !== 'worker') {
      await this.rollouts.loadStateFile();
      await this.rollouts.loadShared();
      this.rollouts.build(this.#runtime.clusters(), this.#runtime.rolloutConfigs());
    }
    this.#started = true;
    this.#runtime.start();
    const listening = this.#listeners.map((l) => ({ listen: `${l.config.host}:${l.port}`, tls: l.config.tls !== null, http2: l.config.http2, maxConnections: l.limits.max, maxConnectionsPerClient: l.limits.perClient }));
    const adminPort = this.#admin === null ? 0 : port(this.#admin);
    this.loggers.log.info({ role: this.role, pid: process.pid, listen: listening[0]?.listen ?? null, listeners: listening, admin: this.#admin === null ? null : `${admin.listen.host}:${adminPort}`, pools: [...this.#runtime.config.pools.keys()] }, 'infergate started');
    return { port: ports[0] ?? 0, ports, adminPort };
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
    this.loggers.apply(config.log);
    this.#applyServerConfig(config);
    old.handOver(next);
    next.start();
    this.changes.reloaded();
    if (this.#started && this.role !== 'worker') this.rollouts.build(next.clusters(), next.rolloutConfigs());
    this.metrics.configReloads.inc({ result: 'success' });
    this.metrics.configLastReloadSuccess.set(1);
    this.metrics.configLastReloadSeconds.set(Date.now() / 1000);
    this.loggers.log.info({ pools: [...config.pools.keys()], backends: [...next.backends()].length }, 'configuration reloaded');
    if (listenChanged(old.config, config)) this.loggers.log.warn('listeners (addresses, tls on/off, http2, connection limits) changed in the new configuration: restart infergate to apply them');
    if (JSON.stringify(old.config.coordination) !== JSON.stringify(config.coordination)) this.loggers.log.warn('coordination (etcd endpoints, prefix, lease) changed in the new configuration: restart infergate to apply it');
    if (old.config.server.maxHeaderBytes !== config.server.maxHeaderBytes) this.loggers.log.warn('server.maxHeaderSize changed in the new configuration: restart infergate to apply it');
    if (old.config.server.h2MaxConcurrentStreams !== config.server.h2MaxConcurrentStreams) this.loggers.log.warn('server.http2.maxConcurrentStreams changed in the new configuration: restart infergate to apply it');
  }

  /** Client-side timeouts are plain properties of the listener, so a reload can change them in place. */
  #applyServerConfig(config: Config): void {
    const s = config.server;
    config.listeners.forEach((l, i) => {
      const running = this.#listeners[i];
      if (running === undefined) return;
      running.applyServerConfig(s);
      // A listener moved or replaced needs a restart (reload says so): until then it keeps its own certificate.
      if (running.config.host === l.host && (running.config.port === l.port || running.port === l.port)) running.applyTlsConfig(l.tls);
    });
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
  shutdown(opts: { graceMs?: number } = {}): Promise<void> {
    this.#shutdown ??= this.#doShutdown(opts.graceMs ?? 0);
    return this.#shutdown;
  }

  async #doShutdown(graceMs: number): Promise<void> {
    this.#draining = true;
    const log = this.loggers.log;
    for (const l of this.#listeners) l.goAway();
    if (graceMs > 0) {
      // Endpoint removal takes a moment to reach every client and proxy above: keep answering meanwhile, with
      // /readyz 503 and `Connection: close` on every response so clients move to another replica.
      log.info({ graceMs }, 'shutting down: still accepting during the grace period, /readyz answers 503');
      await new Promise<void>((resolve) => this.#deps.clock.setTimer(graceMs, resolve));
      this.#closeIdle();
    }
    const drainMs = this.#runtime.config.shutdown.drainTimeoutMs;
    log.info({ drainTimeoutMs: drainMs }, 'shutting down: draining in-flight requests');
    const closed = Promise.all(this.#listeners.map((l) => l.close()));
    this.#closeIdle();
    this.#ws.closeAll();
    let timedOut = false;
    const timer = this.#deps.clock.setTimer(drainMs, () => {
      timedOut = true;
      for (const l of this.#listeners) l.closeAll();
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
    // Leadership is handed over now rather than when the lease runs out.
    await this.#coordination?.stop().catch(() => undefined);
    for (const l of this.#listeners) l.closeAll();
    await Promise.all([
      ...this.#listeners.map((l) => l.close()),
      new Promise<void>((r) => {
        const a = this.#admin;
        if (a === null || !a.listening) return r();
        a.close(() => r());
        a.closeAllConnections();
      }),
    ]);
    this.#ws.closeAll();
    // Everything that had to finish has finished (or the drain timed out): do not wait on upstream requests.
    await Promise.all([...this.#runtime.backends()].map((b) => b.destroy()));
    await this.#probeAgent.close().catch(() => undefined);
    await this.rollouts.flush();
    this.loggers.flush();
  }

  #build(config: Config, previous: Runtime | null): Runtime {
    return new Runtime(config, previous, {
      clock: this.#deps.clock,
      random: this.#deps.random,
      metrics: this.metrics,
      log: this.loggers.log,
      probeDispatcher: this.#probeAgent,
      resolve: this.#deps.resolve ?? systemResolve,
      events: this.events,
      rollouts: this.rollouts,
      worker: this.#deps.worker ?? null,
    });
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
  const shape = (c: Config): string => JSON.stringify(c.listeners.map((l) => [l.host, l.port, l.tls !== null, l.http2, l.maxConnections, l.maxConnectionsPerClient]));
  return shape(a) !== shape(b) || a.admin.listen.host !== b.admin.listen.host || a.admin.listen.port !== b.admin.listen.port;
}

export function createApp(config: Config, deps: Partial<AppDeps> = {}): App {
  return new App(config, deps);
}

// Composition root: turns a Config plus real dependencies (clock, random, logs, metrics) into a running app.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DestinationStream } from 'pino';
import { Agent } from 'undici';
import { createAdminServer } from './admin/server.js';
import { Backend, type StateChange } from './backends/backend.js';
import { BackendPool, type Group } from './backends/pool.js';
import { WaitQueue } from './backends/queue.js';
import type { Policy } from './backends/state.js';
import { createBalancer } from './balancer/index.js';
import { systemClock, type Clock } from './clock.js';
import type { BackendConfig, Config, DiscoverConfig, GroupConfig, HealthSpec, PoolConfig } from './config/types.js';
import { HealthController, warmupBackoffMs } from './health/controller.js';
import { resolveHealth, type ResolvedHealth } from './health/resolve.js';
import { OutlierDetector } from './outlier/detector.js';
import type { EjectionEvent, OutlierHost } from './outlier/types.js';
import { DnsDiscovery, systemResolve, type Resolve } from './discovery/dns.js';
import { RolloutManager } from './rollout/manager.js';
import type { RolloutConfig } from './rollout/types.js';
import { GroupSelector } from './routing/groups.js';
import { applyLogConfig, createLoggers, type Loggers } from './observe/log.js';
import { Metrics } from './observe/metrics.js';
import { handleRequest, type RequestContext } from './proxy/phases.js';
import { onClientError, onConnect } from './proxy/strict.js';
import { WebSocketProxy } from './proxy/websocket.js';
import { Router, type CompiledRoute } from './routing/routes.js';
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

/** Everything derived from one configuration; swapped whole on reload. */
interface Runtime {
  readonly config: Config;
  readonly pools: Map<string, BackendPool>;
  readonly router: Router<BackendPool>;
  readonly byId: Map<string, Backend>;
  readonly controllers: Map<string, HealthController>;
  /** Outlier detector per pool (absent when `outlier: false`), with the config it was built from. */
  readonly detectors: Map<string, { detector: OutlierDetector; spec: string }>;
  /** DNS discovery of groups configured with `discover`. */
  readonly discoveries: DnsDiscovery[];
  /** Rollout settings per pool and canary group. */
  readonly rollouts: Map<string, Map<string, RolloutConfig>>;
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
    for (const c of this.#runtime.controllers.values()) c.start();
    for (const d of this.#runtime.detectors.values()) d.detector.start();
    for (const d of this.#runtime.discoveries) d.start();
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
    for (const c of old.controllers.values()) c.stop();
    for (const c of next.controllers.values()) c.start();
    for (const [pool, d] of old.detectors) if (next.detectors.get(pool) !== d) d.detector.stop();
    for (const d of next.detectors.values()) d.detector.start();
    for (const d of old.discoveries) d.stop();
    for (const d of next.discoveries) d.start();
    if (this.#started) this.rollouts.build(next.pools.values(), next.rollouts);
    for (const p of old.pools.values()) p.queue?.flush();
    for (const b of old.byId.values()) void b.close();
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
    for (const c of this.#runtime.controllers.values()) c.stop();
    for (const d of this.#runtime.detectors.values()) d.detector.stop();
    for (const d of this.#runtime.discoveries) d.stop();
    this.rollouts.stop();
    for (const p of this.#runtime.pools.values()) p.queue?.flush();
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
    const pools = new Map<string, BackendPool>();
    const byId = new Map<string, Backend>();
    const controllers = new Map<string, HealthController>();
    const detectors = new Map<string, { detector: OutlierDetector; spec: string }>();
    const rollouts = new Map<string, Map<string, RolloutConfig>>();
    const discoveries: Array<{ pool: string; group: string; cfg: DiscoverConfig }> = [];
    const clock = this.#deps.clock;
    for (const pc of config.pools.values()) {
      const groups: Group[] = pc.groups.map((g) => {
        const member = this.#memberFactory(pc, g, previous, byId, controllers);
        // A discovered group starts from the members the previous configuration had found (health kept).
        const configs = g.discover === null ? g.backends : (previous?.pools.get(pc.name)?.groups.find((x) => x.name === g.name)?.backends ?? []).map((b) => backendConfigFor(b.origin, pc, g));
        if (g.discover !== null) discoveries.push({ pool: pc.name, group: g.name, cfg: g.discover });
        return { name: g.name, weight: g.weight, backends: configs.map(member) };
      });
      const queue = pc.queue === null ? null : new WaitQueue(pc.queue.max, pc.queue.timeoutMs, clock, this.metrics.bindQueue(pc.name));
      const random = this.#deps.random;
      const pool = new BackendPool(pc, groups, { createBalancer: () => createBalancer<Backend>(pc.balance, { random }), random, stats: this.metrics.bindPool(pc.name), queue });
      const withRollout = new Map(pc.groups.filter((g) => g.rollout !== null).map((g) => [g.name, g.rollout as RolloutConfig]));
      if (withRollout.size > 0) rollouts.set(pc.name, withRollout);
      pool.chooser = new GroupSelector(groups, new Set(withRollout.keys()), pc.sticky, pc.pin, this.#deps.random);
      pool.onUnavailable = (b) => this.#runtime.controllers.get(b.id)?.probeNow();
      const fallbacks = this.metrics.groupFallbacks;
      pool.onFallback = (from) => fallbacks.inc({ pool: pc.name, group: from.name });
      if (pc.outlier !== null) {
        const spec = JSON.stringify(pc.outlier);
        const kept = previous?.detectors.get(pc.name);
        const entry = kept !== undefined && kept.spec === spec ? kept : { detector: this.#detector(pc), spec };
        entry.detector.setHosts(pool.backends);
        pool.outliers = entry.detector;
        detectors.set(pc.name, entry);
      }
      pools.set(pc.name, pool);
    }
    const routes: CompiledRoute<BackendPool>[] = config.routes.map((r) => ({ config: r, pool: pools.get(r.pool)! }));
    const only = config.routes.length === 0 && pools.size === 1 ? [...pools.values()][0]! : null;
    const runtime: Runtime = { config, pools, router: new Router(routes, only), byId, controllers, detectors, rollouts, discoveries: [] };
    for (const d of discoveries) {
      runtime.discoveries.push(
        new DnsDiscovery(d.cfg, {
          clock,
          resolve: this.#deps.resolve ?? systemResolve,
          onResult: (origins) => this.#syncMembers(runtime, d.pool, d.group, origins),
          onError: (err) => {
            this.metrics.discoveryErrors.inc({ pool: d.pool, group: d.group });
            this.loggers.log.warn({ pool: d.pool, group: d.group, dns: d.cfg.dns, error: err.message }, 'DNS discovery failed: keeping the last known backends');
          },
        }),
      );
    }
    return runtime;
  }

  /** Builds a group's Backend records (health adopted by id from the previous configuration) with their controllers. */
  #memberFactory(pc: PoolConfig, g: GroupConfig, previous: Runtime | null, byId: Map<string, Backend>, controllers: Map<string, HealthController>): (bc: BackendConfig) => Backend {
    const clock = this.#deps.clock;
    const health = resolveHealth(withGroupModel(pc.health, g.model));
    const policy = policyFor(health, pc);
    const onChange = (c: StateChange): void => this.#onStateChange(c);
    return (bc) => {
      const b = new Backend(bc, pc, g.name, { stats: this.metrics.bindBackend(pc.name, g.name, bc.id), now: () => clock.now(), onChange, policy, hasStartupProbe: health.startup !== null });
      const old = previous?.byId.get(bc.id);
      if (old) b.adoptHealth(old);
      byId.set(b.id, b);
      controllers.set(b.id, new HealthController(b, health, pc.warmup, { clock, random: this.#deps.random, probeDispatcher: this.#probeAgent, log: this.loggers.log, metrics: this.metrics }));
      return b;
    };
  }

  /**
   * DNS said these origins serve the group: new ones join LOADING (and earn READY like any backend),
   * gone ones leave routing at once and close once their in-flight requests finish.
   */
  #syncMembers(runtime: Runtime, poolName: string, groupName: string, origins: string[]): void {
    if (runtime !== this.#runtime || this.#draining) return;
    const pc = runtime.config.pools.get(poolName)!;
    const gc = pc.groups.find((g) => g.name === groupName)!;
    const pool = runtime.pools.get(poolName)!;
    const group = pool.groups.find((g) => g.name === groupName)!;
    const wanted = new Set(origins);
    const keep = group.backends.filter((b) => wanted.has(b.origin));
    const gone = group.backends.filter((b) => !wanted.has(b.origin));
    const have = new Set(keep.map((b) => b.origin));
    const member = this.#memberFactory(pc, gc, null, runtime.byId, runtime.controllers);
    const fresh = origins.filter((o) => !have.has(o)).map((o) => member(backendConfigFor(o, pc, gc)));
    if (fresh.length === 0 && gone.length === 0) return;
    pool.replaceMembers(group, [...keep, ...fresh]);
    runtime.detectors.get(poolName)?.detector.setHosts(pool.backends);
    for (const b of fresh) runtime.controllers.get(b.id)!.start();
    for (const b of gone) {
      runtime.controllers.get(b.id)?.stop();
      runtime.controllers.delete(b.id);
      b.apply({ type: 'drain' }, `no longer in DNS (${gc.discover?.dns})`);
      runtime.byId.delete(b.id);
      void b.close();
    }
    this.rollouts.backendChanged(group.backends[0] ?? gone[0]!);
    this.loggers.log.info({ pool: poolName, group: groupName, added: fresh.map((b) => b.id), removed: gone.map((b) => b.id) }, 'DNS discovery changed the backends');
  }

  #detector(pc: PoolConfig): OutlierDetector {
    const log = this.loggers.log;
    const m = this.metrics;
    return new OutlierDetector(pc.outlier!, {
      clock: this.#deps.clock,
      onEject: (e: EjectionEvent) => {
        const b = e.host as Backend;
        b.ejections = e.ejections;
        m.ejections.inc({ pool: b.pool, group: b.group, backend: b.id, detector: e.detector });
        log.warn({ backend: b.id, pool: b.pool, group: b.group, detector: e.detector, durationMs: e.durationMs, ejections: e.ejections, reason: e.reason }, 'backend ejected');
        this.#runtime.byId.get(b.id)?.apply({ type: 'eject' }, `ejected for ${Math.round(e.durationMs / 1000)} s: ${e.reason}`);
      },
      onUneject: (host: OutlierHost, reason: string) => {
        const b = this.#runtime.byId.get(host.id);
        if (b === undefined) return;
        log.info({ backend: b.id, pool: b.pool, reason }, 'backend ejection ended: back through its readiness probe');
        b.apply({ type: 'uneject' }, `${reason}; waiting for readiness`);
        this.#runtime.controllers.get(b.id)?.probeNow();
      },
      onSkip: (host: OutlierHost, reason: string, detector) => {
        m.ejectionsSkipped.inc({ pool: pc.name, detector });
        log.warn({ backend: host.id, pool: pc.name, detector, reason }, 'backend not ejected: ejection limit reached');
      },
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

/** The config of a backend found by discovery: same id scheme and settings as a static one. */
function backendConfigFor(origin: string, pc: PoolConfig, g: GroupConfig): BackendConfig {
  const url = new URL(origin);
  const port = url.port === '' ? (url.protocol === 'https:' ? '443' : '80') : url.port;
  return { id: `${pc.name}.${g.name}.${url.hostname}:${port}`, url, origin: url.origin, weight: g.discover?.weight ?? 1, maxConcurrent: pc.maxConcurrent };
}

/** A group's model overrides (a canary's version) on top of the pool's health.model. */
function withGroupModel(spec: HealthSpec, model: GroupConfig['model']): HealthSpec {
  if (model === null) return spec;
  const base = spec.model ?? { name: null, version: null, md5: null, metadataPath: null, namePointer: null, versionPointer: null, checksumPointer: null };
  return { ...spec, model: { ...base, name: model.name ?? base.name, version: model.version ?? base.version, md5: model.md5 ?? base.md5 } };
}

function policyFor(health: ResolvedHealth, pc: PoolConfig): Policy {
  return {
    healthyThreshold: health.readiness.healthyThreshold,
    unhealthyThreshold: health.readiness.unhealthyThreshold,
    livenessThreshold: health.liveness?.unhealthyThreshold ?? 3,
    admission: health.model !== null,
    warmup: pc.warmup !== null,
    warmupBackoffMs,
  };
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

// Everything derived from one configuration — pools and their groups, backends with their health controllers,
// outlier detectors, DNS discovery, the router — built at once and swapped whole on reload (health kept by id).
import type { Dispatcher } from 'undici';
import { Backend, type StateChange } from './backends/backend.js';
import { BackendPool, type Group } from './backends/pool.js';
import { WaitQueue } from './backends/queue.js';
import type { Policy } from './backends/state.js';
import { createBalancer } from './balancer/index.js';
import type { Clock } from './clock.js';
import type { BackendConfig, Config, GroupConfig, HealthSpec, PoolConfig, RolloutSpec } from './config/types.js';
import { DnsDiscovery, type Resolve } from './discovery/dns.js';
import { HealthController, warmupBackoffMs } from './health/controller.js';
import { resolveHealth, type ResolvedHealth } from './health/resolve.js';
import type { Logger } from './observe/log.js';
import type { Metrics } from './observe/metrics.js';
import { OutlierDetector } from './outlier/detector.js';
import type { EjectionEvent, OutlierHost } from './outlier/types.js';
import { GroupSelector } from './routing/groups.js';
import { Router, type CompiledRoute } from './routing/routes.js';

export interface RuntimeDeps {
  clock: Clock;
  random: () => number;
  metrics: Metrics;
  log: Logger;
  probeDispatcher: Dispatcher;
  resolve: Resolve;
  /** Every visible state change of every backend. */
  onStateChange(c: StateChange): void;
  /** Discovery changed a group's members (the rollout of that group may care). */
  onMembersChanged(b: Backend): void;
  /** The runtime in force now: outlier detectors outlive a reload and must act on its backends. */
  current(): Runtime;
}

interface DetectorEntry {
  readonly detector: OutlierDetector;
  /** The settings it was built from: a reload with the same settings keeps the detector and its history. */
  readonly spec: string;
}

export class Runtime {
  readonly config: Config;
  readonly pools = new Map<string, BackendPool>();
  readonly byId = new Map<string, Backend>();
  readonly controllers = new Map<string, HealthController>();
  readonly detectors = new Map<string, DetectorEntry>();
  /** Rollout settings per pool and canary group (the RolloutManager attaches the controllers). */
  readonly rollouts = new Map<string, Map<string, RolloutSpec>>();
  readonly discoveries: DnsDiscovery[] = [];
  readonly router: Router<BackendPool>;
  readonly #deps: RuntimeDeps;
  #stopped = false;

  constructor(config: Config, previous: Runtime | null, deps: RuntimeDeps) {
    this.config = config;
    this.#deps = deps;
    for (const pc of config.pools.values()) this.pools.set(pc.name, this.#pool(pc, previous));
    const routes: CompiledRoute<BackendPool>[] = config.routes.map((r) => ({ config: r, pool: this.pools.get(r.pool)! }));
    const only = config.routes.length === 0 && this.pools.size === 1 ? [...this.pools.values()][0]! : null;
    this.router = new Router(routes, only);
  }

  start(): void {
    for (const c of this.controllers.values()) c.start();
    for (const d of this.detectors.values()) d.detector.start();
    for (const d of this.discoveries) d.start();
  }

  /** Stop the background work; detectors that `next` keeps go on. Old backends close after their in-flight requests. */
  handOver(next: Runtime): void {
    this.#stop(next);
    for (const p of this.pools.values()) p.queue?.flush();
    for (const b of this.byId.values()) void b.close();
  }

  /** Stop everything now (shutdown). */
  stop(): void {
    this.#stop(null);
    for (const p of this.pools.values()) p.queue?.flush();
  }

  #stop(next: Runtime | null): void {
    this.#stopped = true;
    for (const c of this.controllers.values()) c.stop();
    for (const [pool, d] of this.detectors) if (next?.detectors.get(pool) !== d) d.detector.stop();
    for (const d of this.discoveries) d.stop();
  }

  #pool(pc: PoolConfig, previous: Runtime | null): BackendPool {
    const { clock, random, metrics } = this.#deps;
    const groups: Group[] = pc.groups.map((g) => {
      const member = this.#memberFactory(pc, g, previous);
      // A discovered group starts from the members the previous configuration had found (health kept).
      const configs = g.discover === null ? g.backends : (previous?.pools.get(pc.name)?.groups.find((x) => x.name === g.name)?.backends ?? []).map((b) => discoveredConfig(b.origin, pc, g));
      if (g.discover !== null) this.#discover(pc, g);
      return { name: g.name, weight: g.weight, backends: configs.map(member) };
    });
    const queue = pc.queue === null ? null : new WaitQueue(pc.queue.max, pc.queue.timeoutMs, clock, metrics.bindQueue(pc.name));
    const pool = new BackendPool(pc, groups, { createBalancer: () => createBalancer<Backend>(pc.balance, { random }), random, stats: metrics.bindPool(pc.name), queue });
    const withRollout = new Map(pc.groups.flatMap((g): Array<[string, RolloutSpec]> => (g.rollout === null ? [] : [[g.name, g.rollout]])));
    if (withRollout.size > 0) this.rollouts.set(pc.name, withRollout);
    pool.chooser = new GroupSelector(groups, new Set(withRollout.keys()), pc.sticky, pc.pin, random);
    pool.onUnavailable = (b) => this.controllers.get(b.id)?.probeNow();
    pool.onFallback = (from) => metrics.groupFallbacks.inc({ pool: pc.name, group: from.name });
    if (pc.outlier !== null) {
      const spec = JSON.stringify(pc.outlier);
      const kept = previous?.detectors.get(pc.name);
      const entry = kept !== undefined && kept.spec === spec ? kept : { detector: this.#detector(pc), spec };
      entry.detector.setHosts(pool.backends);
      pool.outliers = entry.detector;
      this.detectors.set(pc.name, entry);
    }
    return pool;
  }

  /** Builds a group's Backend records (health adopted by id from the previous configuration) with their controllers. */
  #memberFactory(pc: PoolConfig, g: GroupConfig, previous: Runtime | null): (bc: BackendConfig) => Backend {
    const { clock, random, metrics, log, probeDispatcher } = this.#deps;
    const health = resolveHealth(withGroupModel(pc.health, g.model));
    const policy = policyFor(health, pc);
    const onChange = (c: StateChange): void => this.#deps.onStateChange(c);
    return (bc) => {
      const b = new Backend(bc, pc, g.name, { stats: metrics.bindBackend(pc.name, g.name, bc.id), now: () => clock.now(), onChange, policy, hasStartupProbe: health.startup !== null });
      const old = previous?.byId.get(bc.id);
      if (old) b.adoptHealth(old);
      this.byId.set(b.id, b);
      this.controllers.set(b.id, new HealthController(b, health, pc.warmup, { clock, random, probeDispatcher, log, metrics }));
      return b;
    };
  }

  #discover(pc: PoolConfig, g: GroupConfig): void {
    const cfg = g.discover!;
    const { metrics, log } = this.#deps;
    this.discoveries.push(
      new DnsDiscovery(cfg, {
        clock: this.#deps.clock,
        resolve: this.#deps.resolve,
        onResult: (origins) => this.#syncMembers(pc, g, origins),
        onError: (err) => {
          metrics.discoveryErrors.inc({ pool: pc.name, group: g.name });
          log.warn({ pool: pc.name, group: g.name, dns: cfg.dns, error: err.message }, 'DNS discovery failed: keeping the last known backends');
        },
      }),
    );
  }

  /**
   * DNS said these origins serve the group: new ones join LOADING (and earn READY like any backend),
   * gone ones leave routing at once and close once their in-flight requests finish.
   */
  #syncMembers(pc: PoolConfig, gc: GroupConfig, origins: string[]): void {
    if (this.#stopped) return;
    const pool = this.pools.get(pc.name)!;
    const group = pool.groups.find((g) => g.name === gc.name)!;
    const wanted = new Set(origins);
    const keep = group.backends.filter((b) => wanted.has(b.origin));
    const gone = group.backends.filter((b) => !wanted.has(b.origin));
    const have = new Set(keep.map((b) => b.origin));
    const member = this.#memberFactory(pc, gc, null);
    const fresh = origins.filter((o) => !have.has(o)).map((o) => member(discoveredConfig(o, pc, gc)));
    if (fresh.length === 0 && gone.length === 0) return;
    pool.replaceMembers(group, [...keep, ...fresh]);
    this.detectors.get(pc.name)?.detector.setHosts(pool.backends);
    for (const b of fresh) this.controllers.get(b.id)!.start();
    for (const b of gone) {
      this.controllers.get(b.id)?.stop();
      this.controllers.delete(b.id);
      b.apply({ type: 'drain' }, `no longer in DNS (${gc.discover?.dns})`);
      this.byId.delete(b.id);
      void b.close();
    }
    this.#deps.onMembersChanged(group.backends[0] ?? gone[0]!);
    this.#deps.log.info({ pool: pc.name, group: gc.name, added: fresh.map((b) => b.id), removed: gone.map((b) => b.id) }, 'DNS discovery changed the backends');
  }

  #detector(pc: PoolConfig): OutlierDetector {
    const { log, metrics: m } = this.#deps;
    // A detector may outlive this runtime (kept across reloads): it acts on the backends in force.
    const current = (): Runtime => this.#deps.current();
    return new OutlierDetector(pc.outlier!, {
      clock: this.#deps.clock,
      onEject: (e: EjectionEvent) => {
        const b = current().byId.get(e.host.id);
        if (b === undefined) return;
        b.ejections = e.ejections;
        m.ejections.inc({ pool: b.pool, group: b.group, backend: b.id, detector: e.detector });
        log.warn({ backend: b.id, pool: b.pool, group: b.group, detector: e.detector, durationMs: e.durationMs, ejections: e.ejections, reason: e.reason }, 'backend ejected');
        b.apply({ type: 'eject' }, `ejected for ${Math.round(e.durationMs / 1000)} s: ${e.reason}`);
      },
      onUneject: (host: OutlierHost, reason: string) => {
        const b = current().byId.get(host.id);
        if (b === undefined) return;
        log.info({ backend: b.id, pool: b.pool, reason }, 'backend ejection ended: back through its readiness probe');
        b.apply({ type: 'uneject' }, `${reason}; waiting for readiness`);
        current().controllers.get(b.id)?.probeNow();
      },
      onSkip: (host: OutlierHost, reason: string, detector) => {
        m.ejectionsSkipped.inc({ pool: pc.name, detector });
        log.warn({ backend: host.id, pool: pc.name, detector, reason }, 'backend not ejected: ejection limit reached');
      },
    });
  }
}

/** The config of a backend found by discovery: same id scheme and settings as a static one. */
function discoveredConfig(origin: string, pc: PoolConfig, g: GroupConfig): BackendConfig {
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

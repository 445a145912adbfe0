// Everything derived from one configuration — a Cluster per pool, the outlier detectors, DNS discovery, the
// router — built complete through constructors and swapped whole on reload (health kept by backend id).
import type { Dispatcher } from 'undici';
import type { Backend } from './backends/backend.js';
import { PrefixAffinity } from './affinity/prefix-affinity.js';
import { WaitQueue } from './backends/queue.js';
import { createBalancer } from './balancer/index.js';
import { Cluster } from './cluster/cluster.js';
import type { ClusterEvent, EventStream } from './cluster/events.js';
import { discoveredConfig, memberFactory } from './cluster/members.js';
import type { Clock } from './clock.js';
import type { Config, PoolConfig, RolloutSpec } from './config/types.js';
import { DnsDiscovery, type Resolve } from './discovery/dns.js';
import type { Logger } from './observe/log.js';
import type { Metrics } from './observe/metrics.js';
import { OutlierDetector } from './outlier/detector.js';
import { OverloadGuard } from './overload/guard.js';
import { TrustedProxies } from './proxy/client-address.js';
import { BodyBuffers } from './proxy/body-buffers.js';
import { RetryBudget } from './proxy/retry-budget.js';
import type { OutlierEvent } from './outlier/types.js';
import type { RolloutManager } from './rollout/manager.js';
import { Router, type CompiledRoute } from './routing/routes.js';
import type { WorkerLink } from './workers/worker.js';

export interface RuntimeDeps {
  clock: Clock;
  random: () => number;
  metrics: Metrics;
  log: Logger;
  probeDispatcher: Dispatcher;
  resolve: Resolve;
  /** Where every cluster publishes what happens to its backends (one stream for the app's life). */
  events: EventStream<ClusterEvent>;
  rollouts: Pick<RolloutManager, 'recorder'>;
  /**
   * In a worker process (`workers: N`): the link to the owner, which runs probes, outlier detection, discovery and
   * rollouts and sends the routing view; this process's clusters only route and report. Null otherwise.
   */
  worker?: WorkerLink | null;
}

const NO_ROLLOUT = { record(): void {} };

interface DetectorEntry {
  readonly detector: OutlierDetector<Backend>;
  /** The settings it was built from: a reload with the same settings keeps the detector and its history. */
  readonly spec: string;
}

export class Runtime {
  readonly config: Config;
  readonly router: Router<Cluster>;
  /** Peers whose X-Forwarded-For the proxy believes (`trustedProxies`). */
  readonly trustedProxies: TrustedProxies;
  readonly #clusters = new Map<string, Cluster>();
  readonly #detectors = new Map<string, DetectorEntry>();
  readonly #discoveries: DnsDiscovery[] = [];

  constructor(config: Config, previous: Runtime | null, deps: RuntimeDeps) {
    this.config = config;
    this.trustedProxies = new TrustedProxies(config.trustedProxies);
    for (const pc of config.pools.values()) this.#clusters.set(pc.name, this.#cluster(pc, previous, deps));
    const routes: CompiledRoute<Cluster>[] = config.routes.map((r) => ({ config: r, pool: this.#clusters.get(r.pool)! }));
    const only = config.routes.length === 0 && this.#clusters.size === 1 ? [...this.#clusters.values()][0]! : null;
    this.router = new Router(routes, only);
  }

  clusters(): Iterable<Cluster> {
    return this.#clusters.values();
  }

  cluster(pool: string): Cluster | undefined {
    return this.#clusters.get(pool);
  }

  /** A backend by id, with its cluster. */
  find(id: string): { backend: Backend; cluster: Cluster } | undefined {
    for (const cluster of this.#clusters.values()) {
      for (const backend of cluster.backends) if (backend.id === id) return { backend, cluster };
    }
    return undefined;
  }

  *backends(): Iterable<Backend> {
    for (const c of this.#clusters.values()) yield* c.backends;
  }

  /** Rollout settings per pool and canary group, for the RolloutManager. */
  rolloutConfigs(): Map<string, Map<string, RolloutSpec>> {
    const out = new Map<string, Map<string, RolloutSpec>>();
    for (const pc of this.config.pools.values()) {
      const withRollout = new Map(pc.groups.filter((g) => g.rollout !== null).map((g) => [g.name, g.rollout!]));
      if (withRollout.size > 0) out.set(pc.name, withRollout);
    }
    return out;
  }

  start(): void {
    for (const c of this.#clusters.values()) c.start();
    for (const d of this.#detectors.values()) d.detector.start();
    for (const d of this.#discoveries) d.start();
  }

  /** Stop the background work; detectors that `next` keeps go on. Old backends close after their in-flight requests. */
  handOver(next: Runtime): void {
    for (const [pool, d] of this.#detectors) if (next.#detectors.get(pool) !== d) d.detector.stop();
    for (const d of this.#discoveries) d.stop();
    for (const c of this.#clusters.values()) c.stop(true, next.cluster(c.name));
  }

  /** Stop everything now (shutdown). */
  stop(): void {
    for (const d of this.#detectors.values()) d.detector.stop();
    for (const d of this.#discoveries) d.stop();
    for (const c of this.#clusters.values()) c.stop(false);
  }

  #cluster(pc: PoolConfig, previous: Runtime | null, deps: RuntimeDeps): Cluster {
    const { clock, random, metrics, events } = deps;
    const before = previous?.cluster(pc.name);
    const cluster = new Cluster(pc, {
      // A discovered group starts from the members the previous configuration had found (health kept).
      groups: pc.groups.map((g) => ({
        name: g.name,
        weight: g.weight,
        backends: g.discover === null ? g.backends : (before?.group(g.name)?.backends ?? []).map((b) => discoveredConfig(b.origin, pc, g)),
      })),
      rolloutGroups: new Set(pc.groups.filter((g) => g.rollout !== null).map((g) => g.name)),
      members: memberFactory(pc, {
        clock, random, log: deps.log, probeDispatcher: deps.probeDispatcher,
        healthStats: metrics.healthStats(),
        loadStats: metrics.loadStats(),
        bindStats: (pool, group, backend) => metrics.bindBackend(pool, group, backend),
        previous: (id) => previous?.find(id)?.backend,
        driver: deps.worker?.driver.bind(deps.worker),
      }),
      createBalancer: () => createBalancer<Backend>(pc.balance, { random }, pc.load.picker),
      random,
      queue: pc.queue === null ? null : new WaitQueue(pc.queue.max, pc.queue.timeoutMs, clock, metrics.bindQueue(pc.name)),
      outliers: deps.worker ? deps.worker.outlierSink(pc.name) : this.#detector(pc, previous, deps),
      // A pool without a canary group has no rollout to feed (a reload that adds one builds a new cluster).
      rollout: !pc.groups.some((g) => g.rollout !== null) ? NO_ROLLOUT : deps.worker ? deps.worker.recorder(pc.name) : deps.rollouts.recorder(pc.name),
      events,
      stats: metrics.bindPool(pc.name),
      budget: new RetryBudget(pc.retry),
      // Kept across a reload with the same limit: bodies being read under the old configuration still count.
      bodyBuffers: before?.bodyBuffers instanceof BodyBuffers && before.bodyBuffers.max === pc.requestBody.bufferTotalBytes
        ? before.bodyBuffers
        : new BodyBuffers(pc.requestBody.bufferTotalBytes, metrics.bindBodyBuffers(pc.name)),
      affinity: prefixAffinity(pc, before),
      overload: pc.overload === null ? null : new OverloadGuard(pc.overload, () => clock.now(), metrics.bindOverload(pc.name)),
    });
    // A worker learns members from the owner's view.
    for (const g of deps.worker ? [] : pc.groups) {
      const cfg = g.discover;
      if (cfg === null) continue;
      this.#discoveries.push(new DnsDiscovery(cfg, {
        clock,
        resolve: deps.resolve,
        onResult: (origins) => cluster.setMembers(g.name, origins, (o) => discoveredConfig(o, pc, g), `no longer in DNS (${cfg.dns})`),
        onError: (err) => events.publish({ type: 'discovery-failed', pool: pc.name, group: g.name, dns: cfg.dns, error: err.message }),
      }));
    }
    return cluster;
  }

  /** The pool's outlier detector: the previous one when its settings did not change (it keeps its history). */
  #detector(pc: PoolConfig, previous: Runtime | null, deps: RuntimeDeps): OutlierDetector<Backend> | null {
    if (pc.outlier === null) return null;
    const spec = JSON.stringify(pc.outlier);
    const kept = previous === null ? undefined : previous.#detectors.get(pc.name);
    const entry = kept !== undefined && kept.spec === spec ? kept : { detector: new OutlierDetector<Backend>(pc.outlier, { clock: deps.clock, onEvent: (e) => deps.events.publish(clusterEvent(e)) }), spec };
    this.#detectors.set(pc.name, entry);
    return entry.detector;
  }
}

/** The pool's prefix affinity: the previous one when its settings did not change (it keeps what each backend was sent). */
function prefixAffinity(pc: PoolConfig, before: Cluster | undefined): PrefixAffinity | null {
  const cfg = pc.affinity;
  if (cfg === null) return null;
  const kept = before?.affinity;
  return kept !== undefined && kept !== null && JSON.stringify(kept.config) === JSON.stringify(cfg) ? kept : new PrefixAffinity(cfg);
}

function clusterEvent(e: OutlierEvent<Backend>): ClusterEvent {
  switch (e.type) {
    case 'ejected':
      return { type: 'ejected', backend: e.host, detector: e.detector, reason: e.reason, durationMs: e.durationMs, ejections: e.ejections, ...(e.by === undefined ? {} : { by: e.by }) };
    case 'ejection-ended':
      return { type: 'ejection-ended', backend: e.host, reason: e.reason };
    case 'ejection-skipped':
      return { type: 'ejection-skipped', backend: e.host, detector: e.detector, reason: e.reason };
    default: {
      const never: never = e;
      throw new Error(`unknown outlier event ${JSON.stringify(never)}`);
    }
  }
}

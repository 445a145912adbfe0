// How the members of a pool's group are made: a Backend (health adopted by id across a reload) and its HealthController.
import type { Dispatcher } from 'undici';
import { Backend, type StateChange } from '../backends/backend.js';
import type { Policy } from '../backends/state.js';
import type { Clock } from '../clock.js';
import type { BackendConfig, GroupConfig, HealthSpec, PoolConfig } from '../config/types.js';
import { HealthController, warmupBackoffMs, type HealthStats } from '../health/controller.js';
import { resolveHealth, type ResolvedHealth } from '../health/resolve.js';
import type { Logger } from '../observe/log.js';
import type { BackendStats } from '../observe/metrics.js';
import { LoadScraper, type LoadStats } from '../signals/scraper.js';
import type { HealthDriver, Member, MemberFactory } from './cluster.js';

export interface MemberDeps {
  clock: Clock;
  random: () => number;
  log: Logger;
  probeDispatcher: Dispatcher;
  healthStats: HealthStats;
  /** Counts load scrapes (pools with load signals). */
  loadStats?: LoadStats;
  bindStats(pool: string, group: string, backend: string): BackendStats;
  /** The backend with this id in the configuration being replaced, if any. */
  previous(id: string): Backend | undefined;
  /** In a worker process: what drives a backend instead of its own probes (the owner, workers/worker.ts). */
  driver?: (pool: string, backend: Backend) => HealthDriver;
}

export function memberFactory(pc: PoolConfig, deps: MemberDeps): MemberFactory {
  return (groupName, onChange, adopt, onLoad) => {
    const g = pc.groups.find((x) => x.name === groupName)!;
    const health = resolveHealth(withGroupModel(pc.health, g.model), pc.protocol);
    const policy = policyFor(health, pc);
    const { clock, random, log, probeDispatcher, healthStats } = deps;
    return (bc: BackendConfig): Member => {
      const backend = new Backend(bc, pc, g.name, {
        stats: deps.bindStats(pc.name, g.name, bc.id),
        now: () => clock.now(),
        onChange: (c: StateChange) => onChange(c),
        policy,
        hasStartupProbe: health.startup !== null,
      });
      const old = adopt ? deps.previous(bc.id) : undefined;
      if (old !== undefined) backend.adoptHealth(old);
      if (deps.driver !== undefined) return { backend, controller: deps.driver(pc.name, backend) };
      const controller = new HealthController(backend, health, pc.warmup, { clock, random, probeDispatcher, log, stats: healthStats, tls: pc.tls });
      const scrape = pc.load.scrape;
      if (scrape === null) return { backend, controller };
      // Where the probes run, the load scraper runs too, started and stopped with them.
      const scraper = new LoadScraper(backend, scrape, { clock, random, log, stats: deps.loadStats ?? NO_LOAD_STATS, tls: pc.tls, ...(onLoad === undefined ? {} : { loadChanged: onLoad }) });
      return { backend, controller: withScraper(controller, scraper) };
    };
  };
}

const NO_LOAD_STATS: LoadStats = { scrape() {} };

/** The health controller, with the backend's load scraper started and stopped alongside. */
function withScraper(controller: HealthDriver, scraper: LoadScraper): HealthDriver {
  return {
    start: () => {
      controller.start();
      scraper.start();
    },
    stop: () => {
      controller.stop();
      scraper.stop();
    },
    reverify: (reason) => controller.reverify(reason),
    probeNow: () => controller.probeNow(),
    pushReady: () => controller.pushReady(),
    pushUnready: () => controller.pushUnready(),
  };
}

/** The config of a backend found by discovery: same id scheme and settings as a static one. */
export function discoveredConfig(origin: string, pc: PoolConfig, g: GroupConfig): BackendConfig {
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

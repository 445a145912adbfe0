// Operator changes made at run time through the admin API (weights, backends added or removed, log level): applied
// to the running clusters, logged, remembered for /admin/backends, and dropped by the next reload.
import type { Backend } from '../backends/backend.js';
import type { BackendGroup, Cluster } from '../cluster/cluster.js';
import { discoveredConfig } from '../cluster/members.js';
import type { Config, LogConfig } from '../config/types.js';
import { parseBackendUrl } from '../config/units.js';
import type { Logger } from '../observe/log.js';
import type { RolloutManager } from '../rollout/manager.js';

/** Why a change was refused: the admin API answers it with this status and error code. */
export class Refusal {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly message: string,
    readonly extra?: Record<string, unknown>,
  ) {}
}

/** The running configuration as the changes need it (runtime.ts's Runtime has this shape). */
export interface RunningConfig {
  readonly config: Config;
  cluster(pool: string): Cluster | undefined;
  find(id: string): { backend: Backend; cluster: Cluster } | undefined;
}

export interface ChangesDeps {
  /** Read per change: a reload swaps it. */
  running(): RunningConfig;
  rollouts: Pick<RolloutManager, 'owner'>;
  log: Logger;
  setLogLevel(level: LogConfig['level']): void;
}

/** What /admin/backends says about a backend's run-time changes. */
export interface RuntimeMark {
  /** Added through the admin API: gone at the next reload. */
  runtime: boolean;
  /** The configured weight when the weight was changed at run time, else null. */
  configuredWeight: number | null;
}

export const LOG_LEVELS: ReadonlyArray<LogConfig['level']> = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
export const MAX_BACKEND_WEIGHT = 1000;
export const MAX_GROUP_WEIGHT = 100;

export class RuntimeChanges {
  readonly #deps: ChangesDeps;
  /** Ids of backends added at run time. */
  readonly #added = new Set<string>();
  /** Ids of configured backends removed at run time. */
  readonly #removed = new Set<string>();
  /** Backend id -> configured weight, for weights changed at run time. */
  readonly #weights = new Map<string, number>();
  /** `pool/group` -> configured weight, for group weights changed at run time. */
  readonly #groupWeights = new Map<string, number>();
  #logLevel: LogConfig['level'] | null = null;

  constructor(deps: ChangesDeps) {
    this.#deps = deps;
  }

  mark(b: Backend): RuntimeMark {
    return { runtime: this.#added.has(b.id), configuredWeight: this.#weights.get(b.id) ?? null };
  }

  /** Configured backends taken out at run time (no longer in /admin/backends' list). */
  removed(): string[] {
    return [...this.#removed];
  }

  setBackendWeight(id: string, weight: number): Backend | Refusal {
    const found = this.#deps.running().find(id);
    if (found === undefined) return unknownBackend(id);
    const b = found.backend;
    if (!this.#weights.has(id)) this.#weights.set(id, b.weight);
    const from = b.weight;
    b.weight = weight;
    this.#deps.log.warn({ backend: id, from, to: weight, runtime: true }, 'backend weight changed at run time (until the next reload)');
    return b;
  }

  setGroupWeight(pool: string, group: string, weight: number): { pool: string; group: string; weight: number } | Refusal {
    const g = this.#group(pool, group);
    if (g instanceof Refusal) return g;
    const rollout = this.#deps.rollouts.owner(pool, group);
    if (rollout !== null) {
      return new Refusal(409, 'rollout-owns-weight', `group ${JSON.stringify(group)} of pool ${JSON.stringify(pool)} is under an active rollout, which sets its weight: use POST /admin/rollouts/${encodeURIComponent(pool)}/${encodeURIComponent(rollout.group)}/weight (or pause, promote, abort)`, { rollout });
    }
    const k = `${pool}/${group}`;
    if (!this.#groupWeights.has(k)) this.#groupWeights.set(k, g.weight);
    const from = g.weight;
    g.weight = weight;
    this.#deps.log.warn({ pool, group, from, to: weight, runtime: true }, 'group weight changed at run time (until the next reload)');
    return { pool, group, weight };
  }

  /** A backend joins a static group through the cluster's membership path; it starts LOADING like any other. */
  addBackend(pool: string, group: string, urlText: string, weight: number | null): Backend | Refusal {
    const g = this.#group(pool, group);
    if (g instanceof Refusal) return g;
    const running = this.#deps.running();
    const pc = running.config.pools.get(pool)!;
    const gc = pc.groups.find((x) => x.name === group)!;
    if (gc.discover !== null) return new Refusal(409, 'discovered-group', `group ${JSON.stringify(group)} is discovered by DNS (${gc.discover.dns}); its members come from there`);
    const url = parseBackendUrl(urlText);
    if (!url.ok) return new Refusal(400, 'bad-request', url.message);
    const bc = discoveredConfig(url.value.origin, pc, gc);
    if (g.backends.some((b) => b.origin === bc.origin)) return new Refusal(409, 'backend-exists', `${bc.origin} is already a backend of ${pool}.${group} (id ${bc.id})`);
    if (running.find(bc.id) !== undefined) return new Refusal(409, 'backend-exists', `a backend with id ${bc.id} exists`);
    bc.weight = weight ?? 1;
    const cluster = running.cluster(pool)!;
    const origins = [...g.backends.map((b) => b.origin), bc.origin];
    cluster.setMembers(group, origins, (o) => (o === bc.origin ? bc : discoveredConfig(o, pc, gc)), 'added through the admin API');
    if (this.#removed.delete(bc.id)) this.#deps.log.warn({ backend: bc.id, runtime: true }, 'removed backend added back at run time');
    else this.#added.add(bc.id);
    this.#deps.log.warn({ backend: bc.id, pool, group, url: bc.origin, weight: bc.weight, runtime: true }, 'backend added at run time (until the next reload)');
    return running.find(bc.id)!.backend;
  }

  /** A backend leaves routing at once and closes once its in-flight requests finish (Cluster.setMembers). */
  removeBackend(id: string): Backend | Refusal {
    const running = this.#deps.running();
    const found = running.find(id);
    if (found === undefined) return unknownBackend(id);
    const { backend, cluster } = found;
    const gc = running.config.pools.get(cluster.name)?.groups.find((x) => x.name === backend.group);
    if (gc?.discover != null) return new Refusal(409, 'discovered-group', `${id} was found by DNS discovery (${gc.discover.dns}); remove it there`);
    const g = cluster.group(backend.group)!;
    cluster.setMembers(backend.group, g.backends.filter((b) => b !== backend).map((b) => b.origin), () => {
      throw new Error('removing a backend adds none');
    }, 'removed through the admin API');
    if (!this.#added.delete(id)) this.#removed.add(id);
    this.#weights.delete(id);
    this.#deps.log.warn({ backend: id, runtime: true }, 'backend removed at run time (until the next reload)');
    return backend;
  }

  setLogLevel(level: LogConfig['level']): { level: string; configured: string } {
    const configured = this.#deps.running().config.log.level;
    // Logged before the switch, so a change to `error` is still on record.
    this.#deps.log.warn({ logLevel: level, configured, runtime: true }, 'log level changed at run time (until the next reload)');
    this.#deps.setLogLevel(level);
    this.#logLevel = level === configured ? null : level;
    return { level, configured };
  }

  /** A reload rebuilds everything from the file: every run-time change is gone, and the log says which. */
  reloaded(): void {
    const dropped = {
      added: [...this.#added],
      removed: [...this.#removed],
      backendWeights: [...this.#weights.keys()],
      groupWeights: [...this.#groupWeights.keys()],
      logLevel: this.#logLevel,
    };
    const any = dropped.added.length + dropped.removed.length + dropped.backendWeights.length + dropped.groupWeights.length > 0 || dropped.logLevel !== null;
    this.#added.clear();
    this.#removed.clear();
    this.#weights.clear();
    this.#groupWeights.clear();
    this.#logLevel = null;
    if (any) this.#deps.log.warn({ dropped, runtime: true }, 'configuration reloaded: run-time admin changes dropped');
  }

  #group(pool: string, group: string): BackendGroup | Refusal {
    const cluster = this.#deps.running().cluster(pool);
    if (cluster === undefined) return new Refusal(404, 'unknown-pool', `no pool ${JSON.stringify(pool)}`);
    const g = cluster.group(group);
    if (g === undefined) return new Refusal(404, 'unknown-group', `pool ${JSON.stringify(pool)} has no group ${JSON.stringify(group)}`);
    return g;
  }
}

function unknownBackend(id: string): Refusal {
  return new Refusal(404, 'unknown-backend', `no backend with id ${JSON.stringify(id)}`);
}

// Every rollout of the running configuration: builds one controller per canary group, applies its weights to
// the pool's groups, keeps state across reloads (snapshots) and restarts (state file), answers the admin API.
import type { Backend } from '../backends/backend.js';
import type { BackendGroup, Cluster, GroupRecorder } from '../cluster/cluster.js';
import type { ClusterEvent } from '../cluster/events.js';
import type { Clock } from '../clock.js';
import type { RolloutSpec } from '../config/types.js';
import type { Coordination, RolloutSeat, SharedRollout, WriteResult } from '../coordination/types.js';
import type { Logger } from '../observe/log.js';
import { RolloutController } from './controller.js';
import { loadState, saveState } from './state-file.js';
import type { CanaryBackend, RolloutChange, RolloutSnapshot, RolloutState, RolloutView } from './types.js';

/** What rollouts count (observe/metrics.ts implements it). */
export interface RolloutStats {
  weight(pool: string, group: string, weight: number): void;
  state(pool: string, group: string, state: RolloutState['name'], current: boolean): void;
  transition(pool: string, group: string, from: string, to: string): void;
  check(pool: string, group: string, verdict: string): void;
}

export interface RolloutDeps {
  clock: Clock;
  random: () => number;
  log: Logger;
  stats: RolloutStats;
}

interface Entry {
  readonly pool: Cluster;
  readonly canary: BackendGroup;
  readonly stable: readonly BackendGroup[];
  /** The stable groups' configured weights, to split the stable share in proportion. */
  readonly stableShares: readonly number[];
  readonly config: RolloutSpec;
  readonly controller: RolloutController;
  /** Its place in the shared view (coordination/), or null: this replica decides alone. */
  readonly seat: RolloutSeat | null;
}

/**
 * Latencies per side in a replica's report to the leader: 500 keep the median test and p95 sound and a report near
 * 7 KB. Every write stays in etcd's history until compaction: reports are sent at most every tenth of a rollout's
 * interval (at least one heartbeat, at most 5 s) and only when they changed; the leader sends none.
 */
const REPORT_SAMPLES = 500;
/** How long an operator action waits for etcd to confirm it. */
const ACTION_WAIT_MS = 5000;

export type RolloutAction = 'pause' | 'resume' | 'promote' | 'abort' | 'weight' | 'start';

export class RolloutManager {
  readonly #deps: RolloutDeps;
  readonly #stateFile: string | null;
  #entries = new Map<string, Entry>();
  /** The controller that analyses each pool's traffic (a pool has at most one rollout, checked by the config). */
  #byPool = new Map<string, RolloutController>();
  /** Snapshots read from the state file at start, handed to the controllers of the first build. */
  #fromFile = new Map<string, RolloutSnapshot>();
  #saving: Promise<void> = Promise.resolve();
  readonly #coordination: Coordination | null;
  /** The last write each rollout queued in the shared view (an operator action waits for its own). */
  readonly #shares = new Map<string, Promise<WriteResult>>();
  /** Shared states read at start (coordination/), handed to the controllers of the first build; they win over the file. */
  #shared = new Map<string, SharedRollout>();

  constructor(deps: RolloutDeps, stateFile: string | null, coordination: Coordination | null = null) {
    this.#deps = deps;
    this.#stateFile = stateFile;
    this.#coordination = coordination;
  }

  /** Read the shared rollout states (with coordination) before the first build. */
  async loadShared(): Promise<void> {
    if (this.#coordination === null) return;
    for (const shared of (await this.#coordination.load()).values()) this.#shared.set(key(shared.snapshot.pool, shared.snapshot.group), shared);
  }

  /** Read the state file (if any) before the first build; a missing file is a fresh start, a corrupt one is logged. */
  async loadStateFile(): Promise<void> {
    if (this.#stateFile === null) return;
    try {
      for (const s of await loadState(this.#stateFile)) this.#fromFile.set(key(s.pool, s.group), s);
    } catch (err) {
      this.#deps.log.error({ stateFile: this.#stateFile, error: (err as Error).message }, 'rollout state file unreadable: starting rollouts afresh');
    }
  }

  /**
   * Attach controllers to the pools of a (new) configuration. A rollout whose canary group and settings
   * are unchanged keeps its step and weight; one whose settings changed restarts from its snapshot's
   * position under the new settings (the controller decides).
   */
  build(pools: Iterable<Cluster>, rollouts: ReadonlyMap<string, ReadonlyMap<string, RolloutSpec>>): void {
    const previous = this.#entries;
    const next = new Map<string, Entry>();
    const byPool = new Map<string, RolloutController>();
    for (const pool of pools) {
      const configs = rollouts.get(pool.name);
      if (configs === undefined || configs.size === 0) continue;
      for (const [groupName, config] of configs) {
        const canary = pool.groups.find((g) => g.name === groupName);
        if (canary === undefined) continue;
        const stable = pool.groups.filter((g) => g !== canary);
        const k = key(pool.name, groupName);
        const before = previous.get(k)?.controller;
        const shared = this.#shared.get(k);
        const restored = before?.snapshot() ?? shared?.snapshot ?? this.#fromFile.get(k);
        const carry = before?.handOver();
        before?.stop();
        const coordination = this.#coordination;
        let seat: RolloutSeat | null = null;
        const controller = new RolloutController({
          pool: pool.name,
          canary: groupName,
          stable: stable.map((g) => g.name),
          config,
          clock: this.#deps.clock,
          random: this.#deps.random,
          onChange: (c) => this.#onChange(c),
          onCheck: (c) => this.#deps.stats.check(pool.name, groupName, c.verdict),
          onRestate: () => this.#restated(k),
          ...(restored === undefined ? {} : { restored }),
          ...(carry === undefined ? {} : { carry }),
          epoch: before?.epoch ?? shared?.epoch ?? 0,
          ...(coordination === null
            ? {}
            : { leading: false, reports: (epoch: number) => seat?.reports(epoch) ?? { canary: [], stable: [] } }),
        });
        if (coordination !== null) {
          seat = coordination.seat(pool.name, groupName, {
            leading: (leading) => this.#leading(k, pool.name, groupName, controller, leading),
            // The controller itself, not the entry: a seat may hand over the shared state before the entry exists.
            adopt: (s) => this.#adopt(k, controller, s),
            report: () => controller.report(REPORT_SAMPLES),
            republish: () => {
              const e = this.#entries.get(k);
              if (e?.controller === controller) this.#share(e);
            },
          }, config.intervalMs);
        }
        const entry: Entry = { pool, canary, stable, stableShares: stable.map((g) => g.weight), config, controller, seat };
        next.set(k, entry);
        byPool.set(pool.name, controller);
      }
    }
    for (const [k, e] of previous) if (!next.has(k)) e.controller.stop();
    this.#coordination?.keep(new Set([...next.values()].map((e) => `${e.pool.name}/${e.canary.name}`)));
    this.#fromFile.clear();
    this.#shared.clear();
    // Entries first, readiness second: a rollout that starts here (a reload onto a READY canary) must have its
    // weights applied to the new groups by #onChange, which looks the entry up in this.#entries.
    this.#entries = next;
    this.#byPool = byPool;
    for (const e of next.values()) {
      this.#apply(e);
      e.controller.canaryBackends(e.canary.backends.map(canaryBackend));
      // A leader shares the state it decides from (it may have started the rollout before its entry existed).
      if (e.seat?.leading === true) this.#share(e);
    }
    this.#persist();
  }

  /**
   * Where a pool's clusters send every attempt's outcome (one per pool, stable across reloads): it reaches whichever
   * rollout is in force for the pool, or nothing.
   */
  recorder(pool: string): GroupRecorder {
    return { record: (group, ok, latencyMs) => this.#byPool.get(pool)?.record(group, ok, latencyMs) };
  }

  /** Subscribed to the clusters' event stream: a canary group's readiness follows its backends' states and members. */
  readonly onClusterEvent = (e: ClusterEvent): void => {
    if (e.type === 'state') this.backendChanged(e.backend);
    else if (e.type === 'members') {
      const b = e.added[0] ?? e.removed[0];
      if (b !== undefined) this.backendChanged(b);
    }
  };

  /**
   * A backend changed state: the canary group's backends go to its controller (readiness, and backends out of service
   * for the next check); when outlier detection ejected the last serving one, the rollout is rolled back at once.
   */
  backendChanged(b: Backend): void {
    const e = this.#entries.get(key(b.pool, b.group));
    if (e === undefined) return;
    e.controller.canaryBackends(e.canary.backends.map(canaryBackend));
    const ready = e.canary.backends.some((x) => x.routable());
    if (!ready && b.state() === 'EJECTED' && e.canary.backends.includes(b)) e.controller.canaryEjected(b.stateReason);
  }

  /**
   * The rollout that sets this group's weight, while it does (pending, progressing or paused): its canary group and
   * the stable groups of its pool. Null when no rollout holds the group, or when it has concluded.
   */
  owner(pool: string, group: string): RolloutView | null {
    for (const e of this.#entries.values()) {
      if (e.pool.name !== pool || (e.canary.name !== group && !e.stable.some((g) => g.name === group))) continue;
      const state = e.controller.state.name;
      if (state === 'pending' || state === 'progressing' || state === 'paused') return e.controller.view();
    }
    return null;
  }

  views(): RolloutView[] {
    return [...this.#entries.values()].map((e) => e.controller.view());
  }

  /**
   * An operator action; returns the view, null for an unknown rollout, or throws RangeError for a bad weight. With
   * coordination it resolves once the other replicas can see it: `conflict` when another replica's state came first
   * (the action is dropped here too: nothing half-applied), `refused` while etcd is out of reach.
   */
  async act(pool: string, group: string, action: RolloutAction, weight?: number): Promise<{ changed: boolean; view: RolloutView; refused?: string; conflict?: string } | null> {
    const k = key(pool, group);
    const e = this.#entries.get(k);
    if (e === undefined) return null;
    const c = e.controller;
    this.#shares.delete(k);
    // With the shared store out of reach, an action here alone would diverge from the other replicas.
    const refused = e.seat?.refusal() ?? null;
    if (refused !== null) return { changed: false, view: c.view(), refused };
    let changed: boolean;
    switch (action) {
      case 'pause':
        changed = c.pause();
        break;
      case 'resume':
        changed = c.resume();
        break;
      case 'start':
        changed = c.start();
        break;
      case 'promote':
        changed = c.promote();
        break;
      case 'abort':
        changed = c.abort();
        break;
      case 'weight':
        changed = c.setWeight(weight ?? Number.NaN);
        break;
      default: {
        const never: never = action;
        throw new Error(`unknown rollout action ${String(never)}`);
      }
    }
    const shared = this.#shares.get(k);
    if (!changed || e.seat === null || shared === undefined) return { changed, view: c.view() };
    // The write the action's onChange queued: resolves when it is in etcd, or was overtaken.
    let timer: NodeJS.Timeout | undefined;
    const result = await Promise.race([shared, new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), ACTION_WAIT_MS)))]);
    clearTimeout(timer);
    if (result === 'written') return { changed, view: c.view() };
    if (result === 'superseded') return { changed: false, view: c.view(), conflict: 'another replica changed this rollout first; its state is in force here too: look, then try again' };
    return { changed: false, view: c.view(), refused: `etcd did not confirm the action within ${ACTION_WAIT_MS / 1000} s: it is applied here and will be shared when etcd answers, unless another replica's decision comes first` };
  }

  stop(): void {
    for (const e of this.#entries.values()) e.controller.stop();
  }

  /** Let pending state-file writes finish (shutdown). */
  flush(): Promise<void> {
    return this.#saving;
  }

  #onChange(c: RolloutChange): void {
    const e = this.#entries.get(key(c.pool, c.group));
    if (e !== undefined) this.#apply(e);
    const entry = { pool: c.pool, group: c.group, from: c.from, to: c.to, weight: c.weight, step: c.step, reason: c.reason, check: c.check };
    if (c.to === 'rolled-back') this.#deps.log.error(entry, 'rollout rolled back');
    else this.#deps.log.info(entry, c.from === c.to ? 'rollout weight changed' : 'rollout state changed');
    this.#deps.stats.transition(c.pool, c.group, c.from, c.to);
    this.#persist();
    if (e !== undefined) this.#share(e);
  }

  /** A check changed the state without a transition (held weight, inconclusive): keep and share it. */
  #restated(k: string): void {
    this.#persist();
    const e = this.#entries.get(k);
    if (e !== undefined) this.#share(e);
  }

  #share(e: Entry): void {
    if (e.seat === null) return;
    this.#shares.set(key(e.pool.name, e.canary.name), e.seat.publish({ snapshot: e.controller.snapshot(), epoch: e.controller.epoch }));
  }

  /** Another replica decided (the leader, or an operator there): apply the same state and weights here. */
  #adopt(k: string, controller: RolloutController, shared: SharedRollout): void {
    const before = controller.view();
    controller.adopt(shared.snapshot, shared.epoch);
    const after = controller.view();
    // During a build the entry is not in place yet: the build applies the weights of every entry it makes.
    const e = this.#entries.get(k);
    if (e?.controller !== controller) return;
    this.#apply(e);
    this.#persist();
    if (before.state === after.state && before.weight === after.weight) return;
    const entry = { pool: after.pool, group: after.group, from: before.state, to: after.state, weight: after.weight, step: after.step, reason: after.history.at(-1)?.reason ?? null };
    this.#deps.log.info(entry, 'rollout state taken from the shared view');
    this.#deps.stats.transition(after.pool, after.group, before.state, after.state);
  }

  #leading(k: string, pool: string, group: string, controller: RolloutController, leading: boolean): void {
    if (controller.leading === leading) return;
    controller.setLeading(leading);
    const e = this.#entries.get(k);
    this.#deps.log.info({ pool, group, leading }, leading ? 'this replica now decides the rollout' : 'this replica no longer decides the rollout');
    if (e !== undefined && leading) this.#share(e);
  }

  /** Canary weight to the canary group; the stable share split among the other groups as configured. */
  #apply(e: Entry): void {
    const w = e.controller.weights();
    e.canary.weight = w.canary;
    const total = e.stableShares.reduce((a, b) => a + b, 0);
    e.stable.forEach((g, i) => {
      g.weight = total > 0 ? (w.stable * e.stableShares[i]!) / total : w.stable / e.stable.length;
    });
    const m = this.#deps.stats;
    m.weight(e.pool.name, e.canary.name, w.canary);
    for (const g of e.stable) m.weight(e.pool.name, g.name, g.weight);
    const state = e.controller.state.name;
    for (const s of ['pending', 'progressing', 'paused', 'promoted', 'rolled-back'] as const) m.state(e.pool.name, e.canary.name, s, s === state);
  }

  /** Writes are serialised: each save waits for the one before, so the file ends with the latest state. */
  #persist(): void {
    const file = this.#stateFile;
    if (file === null) return;
    const snapshots = [...this.#entries.values()].map((e) => e.controller.snapshot());
    this.#saving = this.#saving
      .then(() => saveState(file, snapshots))
      .catch((err: Error) => this.#deps.log.error({ stateFile: file, error: err.message }, 'could not write the rollout state file'));
  }
}

function canaryBackend(b: Backend): CanaryBackend {
  return { id: b.id, state: b.state(), reason: b.stateReason, reverifying: b.health.recheck };
}

function key(pool: string, group: string): string {
  return `${pool}\u0000${group}`;
}

// Replicas that agree, through etcd (the maintained etcd3 client; no protocol of our own): per rollout a seat
// (etcd-seat.ts), ejections any replica decides shared with all, and a heartbeat that tells whether the store can be
// reached. Out of reach, a replica keeps the last shared view, decides nothing for a rollout and says so
// (/readyz detail, /admin/rollouts, infergate_coordination_connected).
//
// Keys, under the fleet prefix:  ejections/<backend id>   {reason, detector, durationMs, by, at} (a lease of the ejection's length)
//                                replicas/<replica>       the replica's lease (its reports hang on it)
import { hostname } from 'node:os';
import type { Etcd3, Lease, Watcher } from 'etcd3';
import type { CoordinationConfig } from '../config/types.js';
import type { Logger } from '../observe/log.js';
import { snapshotFromJSON } from '../rollout/snapshot.js';
import { EtcdRolloutSeat, type SeatLink } from './etcd-seat.js';
import type { Coordination, CoordinationStatus, SeatHandlers, SharedEjection, SharedRollout } from './types.js';
import { rolloutKey } from './types.js';

/** Longest wait for etcd to start a watch; past it the next heartbeat tries again. */
const WATCH_START_MS = 5000;

export interface CoordinationStats {
  connected(up: boolean): void;
  leader(pool: string, group: string, leading: boolean): void;
  error(operation: string): void;
}

export interface EtcdCoordinationDeps {
  log: Logger;
  stats: CoordinationStats;
  /** Replica name; default host-pid-random. */
  replica?: string;
}

export class EtcdCoordination implements Coordination {
  readonly replica: string;
  readonly #config: CoordinationConfig['etcd'];
  readonly #deps: EtcdCoordinationDeps;
  /** Made at load() (#connect). */
  #client: Etcd3 | undefined;
  readonly #leaseSeconds: number;
  /** How often the heartbeat runs and reports are sent: a third of the lease, at most 1 s (decisions reach all within 1 s). */
  readonly #beatMs: number;
  readonly #seats = new Map<string, EtcdRolloutSeat>();
  readonly #ejectionHandlers: Array<(e: SharedEjection) => void> = [];
  #lease: Lease | null = null;
  #watcher: Watcher | null = null;
  #timer: NodeJS.Timeout | null = null;
  #connected = false;
  #since = new Date().toISOString();
  #lastError: string | null = null;
  #stopped = false;
  #beating = false;
  /** The shared state was read and the watch runs: until then no seat campaigns. */
  #synced = false;
  /** The first build is done: what a re-read finds is for the seats that exist, never kept for later ones. */
  #built = false;
  /** Per seat: the least time between two reports, and when the last was sent. */
  readonly #reportGaps = new WeakMap<EtcdRolloutSeat, number>();
  readonly #reportedAt = new WeakMap<EtcdRolloutSeat, number>();

  constructor(config: CoordinationConfig, deps: EtcdCoordinationDeps) {
    this.#config = config.etcd;
    this.#deps = deps;
    this.replica = deps.replica ?? `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 6)}`;
    this.#leaseSeconds = Math.max(1, Math.round(config.etcd.leaseMs / 1000));
    this.#beatMs = Math.min(1000, Math.floor(config.etcd.leaseMs / 3));
    deps.stats.connected(false);
  }

  /**
   * The client is made at load(): etcd3 (with its gRPC stack and protos) is imported only by a replica configured to
   * use it — loaded at start, it made every infergate process heavier and its garbage collection lazier (idle
   * connection floods left ~3 KB per connection behind until much later).
   */
  /** The client; only used once load() has made it. */
  get #etcd(): Etcd3 {
    if (this.#client === undefined) throw new Error('etcd client used before load()');
    return this.#client;
  }

  async #connect(): Promise<void> {
    if (this.#client !== undefined) return;
    const { Etcd3: Client } = await import('etcd3');
    // Short call deadlines: a replica must notice an unreachable store within a heartbeat or two, not at gRPC's default.
    this.#client = new Client({
      hosts: this.#config.endpoints,
      dialTimeout: this.#beatMs * 2,
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + Math.max(2000, this.#beatMs * 2) }),
    });
    this.#link = this.#makeLink();
  }

  /**
   * Read the shared state before the first build. With etcd out of reach, the replica starts without it: it decides
   * nothing for any rollout (no leader is elected from here) until the heartbeat has read it.
   */
  async load(): Promise<Map<string, SharedRollout>> {
    await this.#connect();
    this.#timer ??= setInterval(() => void this.#beat(), this.#beatMs);
    this.#timer.unref();
    try {
      return await this.#sync();
    } catch (err) {
      this.#disconnected('load', err);
      this.#deps.log.error({ replica: this.replica, endpoints: this.#config.endpoints, error: this.#lastError }, 'etcd unreachable at start: rollouts hold (no replica decides from here) until it is reachable');
      return new Map();
    }
  }

  /** Everything under the prefix, then a watch from the next revision: no change is missed between the two. */
  async #sync(): Promise<Map<string, SharedRollout>> {
    const prefix = this.#config.prefix;
    const res = await this.#etcd.getAll().prefix(prefix).exec();
    const out = new Map<string, SharedRollout>();
    const pendingEjections: Array<{ value: string }> = [];
    for (const kv of res.kvs) {
      const key = kv.key.toString().slice(prefix.length);
      const value = kv.value.toString();
      const m = /^rollouts\/([^/]+)\/([^/]+)\/state$/.exec(key);
      if (m !== null) {
        try {
          const raw = JSON.parse(value) as { snapshot: unknown; epoch: number };
          out.set(rolloutKey(m[1]!, m[2]!), { snapshot: snapshotFromJSON(raw.snapshot), epoch: raw.epoch });
          this.#loadedRevisions.set(rolloutKey(m[1]!, m[2]!), { value, revision: kv.mod_revision });
        } catch (err) {
          this.#deps.log.error({ key: kv.key.toString(), error: (err as Error).message }, 'unreadable rollout state in etcd: that rollout starts afresh');
        }
      } else if (key.startsWith('ejections/')) pendingEjections.push({ value });
      else {
        const r = /^rollouts\/([^/]+)\/([^/]+)\/reports\/(.+)$/.exec(key);
        if (r !== null) this.#loadedReports.push({ rollout: rolloutKey(r[1]!, r[2]!), replica: r[3]!, value });
      }
    }
    this.#deps.log.info({ replica: this.replica, prefix, rollouts: [...out.keys()], keys: res.kvs.length }, 'shared view read from etcd');
    const old = this.#watcher;
    this.#watcher = null;
    void old?.cancel().catch(() => undefined);
    const watcher = await withDeadline(this.#etcd.watch().prefix(prefix).startRevision(String(BigInt(res.header.revision) + 1n)).create(), WATCH_START_MS, 'watch start', (late) => void late.cancel().catch(() => undefined));
    if (this.#stopped) {
      void watcher.cancel().catch(() => undefined);
      return out;
    }
    this.#watcher = watcher;
    watcher.on('put', (kv) => this.#onPut(kv.key.toString().slice(prefix.length), kv.value.toString(), kv.mod_revision));
    watcher.on('delete', (kv) => this.#onDelete(kv.key.toString().slice(prefix.length)));
    watcher.on('error', (err) => {
      // A watch etcd cancelled (its history compacted while this replica was cut off, ...) never comes back by itself:
      // read everything again and watch from there, at the next heartbeat.
      this.#noteError('watch', err);
      if (this.#watcher !== watcher) return;
      this.#watcher = null;
      this.#synced = false;
      void watcher.cancel().catch(() => undefined);
    });
    this.#loadedEjections = pendingEjections.map((e) => e.value);
    this.#lease ??= this.#newLease();
    this.#synced = true;
    // Seats made before the store could be read (a start while etcd was out of reach), or a re-read after a lost
    // watch: they take the shared state now.
    for (const [key, seat] of this.#seats) {
      seat.resetReports();
      const loaded = this.#loadedRevisions.get(key);
      if (loaded !== undefined) seat.onState(loaded.value, loaded.revision);
      for (const r of this.#loadedReports) if (r.rollout === key) seat.onReport(r.replica, r.value);
    }
    if (this.#ejectionHandlers.length > 0) {
      for (const v of this.#loadedEjections) this.#ejection(v);
      this.#loadedEjections = [];
    }
    if (this.#built) {
      this.#loadedRevisions.clear();
      this.#loadedReports = [];
    }
    this.#markConnected();
    for (const seat of this.#seats.values()) seat.refresh();
    return out;
  }

  seat(pool: string, group: string, handlers: SeatHandlers, intervalMs: number): EtcdRolloutSeat {
    const key = rolloutKey(pool, group);
    let seat = this.#seats.get(key);
    if (seat !== undefined) {
      seat.bind(handlers);
      return seat;
    }
    seat = new EtcdRolloutSeat(this.#link, this.#config.prefix, pool, group, handlers);
    this.#seats.set(key, seat);
    this.#reportGaps.set(seat, Math.min(5000, Math.max(this.#beatMs, intervalMs / 10)));
    handlers.leading(false);
    this.#deps.stats.leader(pool, group, false);
    if (!this.#connected || !this.#synced) return seat; // #sync hands it the state, then it campaigns
    const loaded = this.#loadedRevisions.get(key);
    if (loaded !== undefined) {
      // The first build: the controller was built from this very state; the seat adopts it (no change) and knows its revision.
      seat.onState(loaded.value, loaded.revision);
      for (const r of this.#loadedReports) if (r.rollout === key) seat.onReport(r.replica, r.value);
      seat.campaign();
    } else {
      // A rollout added later: read its shared state before this replica may lead it.
      const s = seat;
      void s.poll().then(() => s.refresh());
    }
    return seat;
  }

  /** The end of a build: seats of rollouts no longer configured resign; what load() read has been handed over. */
  keep(keys: ReadonlySet<string>): void {
    for (const [key, seat] of this.#seats) {
      if (keys.has(key)) continue;
      this.#seats.delete(key);
      this.#deps.stats.leader(seat.pool, seat.group, false);
      void seat.close();
    }
    // A seat made by a later build (a reload that adds a rollout) reads the state key itself: what load() read is old.
    this.#built = true;
    this.#loadedRevisions.clear();
    this.#loadedReports = [];
  }

  ejected(e: Omit<SharedEjection, 'by'>): void {
    if (!this.#connected || !(e.durationMs > 0)) return;
    const value = JSON.stringify({ ...e, by: this.replica, at: Date.now() });
    const lease = this.#etcd.lease(Math.max(1, Math.ceil(e.durationMs / 1000)), { autoKeepAlive: false });
    lease
      .put(`${this.#config.prefix}ejections/${e.backend}`)
      .value(value)
      .then(() => lease.release())
      .catch((err: unknown) => this.#noteError('share ejection', err));
  }

  onEjection(handler: (e: SharedEjection) => void): void {
    this.#ejectionHandlers.push(handler);
    // Ejections still running when this replica started apply here too, for what is left of them.
    for (const v of this.#loadedEjections) this.#ejection(v);
    this.#loadedEjections = [];
  }

  status(): CoordinationStatus {
    return {
      kind: 'etcd',
      replica: this.replica,
      connected: this.#connected,
      since: this.#since,
      lastError: this.#lastError,
      leading: [...this.#seats.values()].filter((s) => s.leading).map((s) => s.name),
    };
  }

  /**
   * Resign every election and revoke the replica's lease, so that others take over at once; bounded (an etcd that does
   * not answer must not hold up a shutdown): past the lease's time the leases expire by themselves anyway.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    const handOver = Promise.all([...[...this.#seats.values()].map((s) => s.close()), this.#lease?.revoke().catch(() => undefined)]);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([handOver, new Promise((r) => (timer = setTimeout(r, Math.min(3000, this.#config.leaseMs))))]);
    clearTimeout(timer);
    void this.#watcher?.cancel().catch(() => undefined);
    this.#client?.close();
  }

  #link!: SeatLink;
  /** What load() read, handed to the seats as they are made. */
  #loadedRevisions = new Map<string, { value: string; revision: string }>();
  #loadedReports: Array<{ rollout: string; replica: string; value: string }> = [];
  #loadedEjections: string[] = [];

  #makeLink(): SeatLink {
    return {
      client: this.#etcd,
      replica: this.replica,
      leaseSeconds: this.#leaseSeconds,
      connected: () => this.#connected && this.#synced,
      disconnectedReason: () => `etcd unreachable since ${this.#since}${this.#lastError === null ? '' : `: ${this.#lastError}`}`,
      failed: (op, err) => this.#noteError(op, err),
      leadershipChanged: () => {
        for (const s of this.#seats.values()) this.#deps.stats.leader(s.pool, s.group, s.leading);
      },
      putLeased: async (key, value) => {
        const lease = this.#lease ?? this.#newLease();
        await lease.put(key).value(value);
      },
      log: this.#deps.log,
    };
  }

  #newLease(): Lease {
    const lease = this.#etcd.lease(this.#leaseSeconds, { autoKeepAlive: false });
    lease.on('lost', () => {
      if (this.#lease === lease) this.#lease = null;
    });
    this.#lease = lease;
    return lease;
  }

  /** Heartbeat: keep this replica's lease alive (that is the connectivity check), then send the reports. */
  async #beat(): Promise<void> {
    if (this.#beating || this.#stopped) return;
    this.#beating = true;
    try {
      if (!this.#synced) {
        try {
          await this.#sync();
        } catch (err) {
          this.#disconnected('load', err);
          return;
        }
      }
      const lease = this.#lease ?? this.#newLease();
      try {
        await lease.keepaliveOnce({ deadline: Date.now() + Math.max(this.#beatMs * 2, 1000) });
        this.#markConnected();
      } catch (err) {
        // A lease etcd no longer knows (expired while out of reach) is replaced at the next beat.
        if (this.#lease === lease && lease.revoked()) this.#lease = null;
        this.#disconnected('heartbeat', err);
        return;
      }
      const now = Date.now();
      await Promise.all([...this.#seats.values()].map(async (s) => {
        await s.poll();
        if (now - (this.#reportedAt.get(s) ?? 0) < (this.#reportGaps.get(s) ?? 0) - 50) return;
        this.#reportedAt.set(s, now);
        await s.report();
      }));
    } finally {
      this.#beating = false;
    }
  }

  #markConnected(): void {
    if (this.#connected) return;
    this.#connected = true;
    this.#since = new Date().toISOString();
    this.#deps.stats.connected(true);
    this.#deps.log.info({ replica: this.replica, endpoints: this.#config.endpoints }, 'etcd reachable: sharing rollouts and ejections');
    for (const s of this.#seats.values()) {
      // Leadership held before the outage is verified before it is used again.
      void s.verify().then(() => s.refresh());
    }
  }

  /** One operation failed: counted and shown; only the heartbeat (and the initial read) decide "unreachable". */
  #noteError(operation: string, err: unknown): void {
    this.#deps.stats.error(operation);
    this.#lastError = `${operation}: ${(err as Error)?.message ?? String(err)}`;
  }

  /**
   * The heartbeat failed: etcd is out of reach. No seat leads from now on (a short blip costs no check: the
   * controller keeps its due time), the last shared view stays in force.
   */
  #disconnected(operation: string, err: unknown): void {
    this.#noteError(operation, err);
    if (!this.#connected || this.#stopped) return;
    this.#connected = false;
    this.#since = new Date().toISOString();
    this.#deps.stats.connected(false);
    this.#deps.log.error({ replica: this.replica, error: this.#lastError }, 'etcd unreachable: keeping the last shared view, rollouts hold until it is back');
    for (const s of this.#seats.values()) s.refresh();
  }

  #onPut(key: string, value: string, modRevision: string): void {
    const m = /^rollouts\/([^/]+)\/([^/]+)\/(state|reports\/(.+))$/.exec(key);
    if (m !== null) {
      const seat = this.#seats.get(rolloutKey(m[1]!, m[2]!));
      if (seat === undefined) return;
      if (m[3] === 'state') seat.onState(value, modRevision);
      else seat.onReport(m[4]!, value);
      return;
    }
    if (key.startsWith('ejections/')) this.#ejection(value);
  }

  #onDelete(key: string): void {
    const m = /^rollouts\/([^/]+)\/([^/]+)\/reports\/(.+)$/.exec(key);
    if (m !== null) this.#seats.get(rolloutKey(m[1]!, m[2]!))?.onReport(m[3]!, null);
  }

  #ejection(value: string): void {
    try {
      const e = JSON.parse(value) as SharedEjection & { at: number };
      if (e.by === this.replica || typeof e.backend !== 'string') return;
      const left = e.at + e.durationMs - Date.now();
      if (!(left > 0)) return;
      for (const h of this.#ejectionHandlers) h({ backend: e.backend, reason: e.reason, detector: e.detector, durationMs: left, by: e.by });
    } catch (err) {
      this.#deps.log.error({ error: (err as Error).message }, 'unreadable ejection in etcd: ignored');
    }
  }
}

/** `promise`, or a rejection after `ms`; a value that arrives late goes to `late` (to be released). */
function withDeadline<T>(promise: Promise<T>, ms: number, what: string, late: (value: T) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => {
      done = true;
      reject(new Error(`${what}: no answer within ${ms} ms`));
    }, ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        if (done) late(v);
        else resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        if (!done) reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

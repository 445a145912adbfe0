// One rollout's seat in etcd: an etcd3 Election per rollout (leadership held by a lease), the shared state written
// compare-and-swap on the revision the decision was made from (a leader's writes also require its election key to
// exist: a deposed leader cannot overwrite its successor), every follower's window report under its own lease.
//
// Keys, under the fleet prefix:  rollouts/<pool>/<group>/state            {snapshot, epoch, by, seq, at}  (no lease: survives restarts)
//                                rollouts/<pool>/<group>/leader/<lease>   the election (etcd3's Election)
//                                rollouts/<pool>/<group>/reports/<replica> {epoch, canary, stable}  (the replica's lease)
import type { Campaign, Election, Etcd3 } from 'etcd3';
import type { Logger } from '../observe/log.js';
import { snapshotFromJSON } from '../rollout/snapshot.js';
import type { WindowReport } from '../rollout/window.js';
import { rolloutKey, type RolloutReport, type RolloutSeat, type SeatHandlers, type SharedRollout, type WriteResult } from './types.js';

/** What a seat needs from the connection it lives on (etcd.ts). */
export interface SeatLink {
  readonly client: Etcd3;
  readonly replica: string;
  readonly leaseSeconds: number;
  connected(): boolean;
  /** Why the store is unreachable, for refusals. */
  disconnectedReason(): string;
  /** An operation failed: counted and kept as the last error (only the heartbeat decides "unreachable"). */
  failed(operation: string, err: unknown): void;
  leadershipChanged(): void;
  /** Put under this replica's lease (reports vanish with the replica). */
  putLeased(key: string, value: string): Promise<void>;
  log: Logger;
}

/** A state waiting to be written, with the revision it was decided from (or the marker of a write still in flight). */
interface Pending {
  shared: SharedRollout;
  base: string | object;
  waiters: Array<(r: WriteResult) => void>;
}

/** Time between two attempts of a write etcd did not answer. */
const RETRY_MS = 500;

export class EtcdRolloutSeat implements RolloutSeat {
  readonly #link: SeatLink;
  readonly #base: string;
  readonly name: string;
  readonly pool: string;
  readonly group: string;
  #handlers: SeatHandlers;
  readonly #election: Election;
  #campaign: Campaign | null = null;
  /** Elected by etcd (the campaign said so and has not failed since). */
  #elected = false;
  #leading = false;
  /** Mod revision of the state key as last seen or written here ("0": none yet). */
  #revision = '0';
  /** The newest state to write; an older one still waiting is replaced (its waiters hear the newer one's result). */
  #pending: Pending | null = null;
  /** The write in flight: a state published meanwhile is based on what it will write. */
  #inflight: object | null = null;
  /** Another replica's state was adopted while a write was in flight: what is decided now builds on that state. */
  #inflightOverridden = false;
  /** etcd's history went backwards (restored from a backup): the next record is adopted even if this replica wrote it. */
  #restored = false;
  /** Sequence of this replica's writes, so that it does not adopt its own state back from the watch. */
  #seq = 0;
  /** Reports of other replicas by replica id. */
  #reports = new Map<string, RolloutReport>();
  /** The last report this replica published (epoch and requests on both sides), to skip unchanged ones. */
  #lastReport = '';
  #closed = false;

  constructor(link: SeatLink, prefix: string, pool: string, group: string, handlers: SeatHandlers) {
    this.#link = link;
    this.name = rolloutKey(pool, group);
    this.pool = pool;
    this.group = group;
    this.#base = `${prefix}rollouts/${pool}/${group}/`;
    this.#handlers = handlers;
    this.#election = link.client.election(`${this.#base}leader`, link.leaseSeconds);
  }

  get stateKey(): string {
    return `${this.#base}state`;
  }

  get reportsPrefix(): string {
    return `${this.#base}reports/`;
  }

  get leading(): boolean {
    return this.#leading;
  }

  bind(handlers: SeatHandlers): void {
    this.#handlers = handlers;
    handlers.leading(this.#leading);
  }

  refusal(): string | null {
    return this.#link.connected() ? null : `the shared rollout state is unreachable (${this.#link.disconnectedReason()}): an action taken here alone would start a diverging rollout`;
  }

  /**
   * Share a state decided here. It is written only if the shared state is still the one it was decided from: a
   * decision made on a state another replica has since replaced is dropped ('superseded'), and that state is adopted.
   */
  publish(shared: SharedRollout): Promise<WriteResult> {
    return new Promise((resolve) => {
      const older = this.#pending;
      if (older !== null) {
        // The newer state was decided on top of the older one: same base, and the older one's waiters wait for it.
        older.shared = shared;
        older.waiters.push(resolve);
      } else this.#pending = { shared, base: this.#inflight !== null && !this.#inflightOverridden ? this.#inflight : this.#revision, waiters: [resolve] };
      void this.#flush();
    });
  }

  reports(epoch: number): { canary: WindowReport[]; stable: WindowReport[] } {
    const canary: WindowReport[] = [];
    const stable: WindowReport[] = [];
    for (const [replica, r] of this.#reports) {
      if (replica === this.#link.replica || r.epoch !== epoch) continue;
      canary.push(r.canary);
      stable.push(r.stable);
    }
    return { canary, stable };
  }

  /** Join the election (again, after a failed campaign). */
  campaign(): void {
    if (this.#closed || this.#campaign !== null) return;
    const c = this.#election.campaign(this.#link.replica);
    this.#campaign = c;
    c.on('elected', () => {
      if (this.#campaign !== c) return;
      this.#elected = true;
      this.#link.log.info({ rollout: this.name, replica: this.#link.replica }, 'elected leader of the rollout');
      this.refresh();
    });
    c.on('error', (err: Error) => {
      if (this.#campaign !== c) return;
      this.#link.failed('campaign', err);
      this.#campaign = null;
      this.#elected = false;
      c.resign().catch(() => undefined);
      this.refresh();
    });
  }

  /** Leading = elected and connected; re-campaigns after a failed campaign once connected. */
  refresh(): void {
    const leading = !this.#closed && this.#elected && this.#link.connected();
    if (leading !== this.#leading) {
      this.#leading = leading;
      this.#handlers.leading(leading);
      this.#link.leadershipChanged();
    }
    if (!this.#closed && this.#campaign === null && this.#link.connected()) this.campaign();
  }

  /**
   * After the connection came back: is this replica still the elected one? Its election key may have expired while
   * etcd was out of reach, and another replica elected: then resign and campaign again.
   */
  async verify(): Promise<void> {
    const c = this.#campaign;
    if (c === null || !this.#elected) return;
    try {
      const key = await c.getCampaignKey();
      const mine = await this.#link.client.get(key).exists();
      const leader = await this.#election.leader();
      if (mine && leader === this.#link.replica) return;
      this.#link.log.warn({ rollout: this.name, leader: leader ?? null }, 'leadership of the rollout lost while etcd was unreachable');
    } catch (err) {
      this.#link.failed('verify leadership', err);
    }
    if (this.#campaign !== c) return;
    this.#campaign = null;
    this.#elected = false;
    c.resign().catch(() => undefined);
    this.refresh();
  }

  /**
   * A watched, polled or loaded state record. Adopted when newer than what this seat has seen, unless this replica
   * wrote it; a state still waiting to be written that was decided from an older revision is dropped ('superseded').
   */
  onState(value: string, modRevision: string): void {
    if (BigInt(modRevision) <= BigInt(this.#revision)) return;
    this.#revision = modRevision;
    const record = parseShared(value);
    if (record === null) {
      this.#link.log.error({ rollout: this.name, key: this.stateKey }, 'unreadable rollout state in etcd: ignored');
      return;
    }
    const restored = this.#restored;
    this.#restored = false;
    if (!restored && record.by === this.#link.replica && record.seq <= this.#seq) return; // our own write, back from the watch
    // Another replica's state wins: whatever was decided here and not yet written was decided on a state now gone.
    const p = this.#pending;
    if (p !== null && (typeof p.base !== 'string' || BigInt(p.base) < BigInt(modRevision))) {
      this.#pending = null;
      for (const w of p.waiters) w('superseded');
    }
    if (this.#inflight !== null) this.#inflightOverridden = true;
    this.#handlers.adopt(record.shared);
  }

  onReport(replica: string, value: string | null): void {
    if (value === null) {
      this.#reports.delete(replica);
      return;
    }
    try {
      const r = JSON.parse(value) as RolloutReport;
      if (typeof r.epoch === 'number' && isReport(r.canary) && isReport(r.stable)) this.#reports.set(replica, r);
    } catch {
      this.#reports.delete(replica);
    }
  }

  /** A full re-read replaced what the watch had said: reports of replicas gone meanwhile are forgotten. */
  resetReports(): void {
    this.#reports = new Map();
  }

  /**
   * Read the state key (every heartbeat): the watch delivers decisions at once, but a watch re-established after an
   * outage can lag by seconds; this bounds how late a replica applies a decision to one heartbeat. A state key gone
   * while this seat had seen one (etcd restored empty, or the key deleted by hand) makes the leader write it again.
   */
  async poll(): Promise<void> {
    try {
      const r = await this.#link.client.get(this.stateKey).exec();
      const kv = r.kvs[0];
      if (kv !== undefined) {
        // A revision below the one seen here: etcd's history was replaced (restored from a backup); every replica
        // starts from what it says, this one's own older record included.
        if (BigInt(kv.mod_revision) < BigInt(this.#revision)) {
          this.#revision = '0';
          this.#restored = true;
        }
        this.onState(kv.value.toString(), kv.mod_revision);
      } else if (this.#revision !== '0') {
        this.#link.log.warn({ rollout: this.name, key: this.stateKey }, 'the shared rollout state is gone from etcd: the leader writes it again');
        this.#revision = '0';
        if (this.#leading) this.#handlers.republish();
      }
    } catch (err) {
      this.#link.failed('read rollout state', err);
    }
  }

  /** Publish this replica's window report when it changed. The leader reports nothing: it judges its own window. */
  async report(): Promise<void> {
    if (this.#closed || !this.#link.connected()) return;
    const r = this.#leading ? null : this.#handlers.report();
    const key = `${this.reportsPrefix}${this.#link.replica}`;
    const mark = r === null ? '' : `${r.epoch}:${r.canary.requests}:${r.stable.requests}`;
    if (mark === this.#lastReport) return;
    try {
      if (r === null) await this.#link.client.delete().key(key);
      // Latencies are capped where the report is taken (rollout/manager.ts REPORT_SAMPLES).
      else await this.#link.putLeased(key, JSON.stringify(r));
      this.#lastReport = mark;
    } catch (err) {
      this.#link.failed('report', err);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.refresh();
    const p = this.#pending;
    this.#pending = null;
    for (const w of p?.waiters ?? []) w('closed');
    const c = this.#campaign;
    this.#campaign = null;
    await c?.resign().catch(() => undefined);
  }

  /** One write at a time; a state published meanwhile is rebased on it once it succeeds, dropped if it lost. */
  async #flush(): Promise<void> {
    if (this.#inflight !== null) return;
    while (this.#pending !== null && !this.#closed) {
      const item = this.#pending;
      this.#pending = null;
      const marker = {};
      this.#inflight = marker;
      const result = await this.#write(item);
      this.#inflight = null;
      this.#inflightOverridden = false;
      const next = this.#pending as Pending | null;
      if (next !== null && next.base === marker) {
        if (result.kind === 'written') next.base = result.revision;
        else {
          this.#pending = null;
          for (const w of next.waiters) w('superseded');
        }
      }
      for (const w of item.waiters) w(result.kind);
    }
  }

  async #write(item: Pending): Promise<{ kind: 'written'; revision: string } | { kind: 'superseded' | 'closed' }> {
    const client = this.#link.client;
    const base = item.base as string;
    /** Sequence numbers of this item's attempts: one may have committed though its answer was lost. */
    const tried = new Set<number>();
    for (;;) {
      if (this.#closed) return { kind: 'closed' };
      const seq = ++this.#seq;
      tried.add(seq);
      const value = JSON.stringify({ snapshot: item.shared.snapshot, epoch: item.shared.epoch, by: this.#link.replica, seq, at: new Date().toISOString() });
      try {
        let txn = client.if(this.stateKey, 'Mod', '==', base);
        if (this.#leading && this.#campaign !== null) txn = txn.and(await this.#campaign.getCampaignKey(), 'Create', '>', 0);
        const r = await txn.then(client.put(this.stateKey).value(value)).else(client.get(this.stateKey)).commit();
        if (r.succeeded) {
          if (BigInt(r.header.revision) > BigInt(this.#revision)) this.#revision = r.header.revision;
          return { kind: 'written', revision: r.header.revision };
        }
        const kv = r.responses[0]?.response_range?.kvs[0];
        const found = kv === undefined ? null : parseShared(kv.value.toString());
        if (kv !== undefined && found !== null && found.by === this.#link.replica && tried.has(found.seq)) {
          // An earlier attempt of this very write committed; its answer was lost.
          if (BigInt(kv.mod_revision) > BigInt(this.#revision)) this.#revision = kv.mod_revision;
          return { kind: 'written', revision: kv.mod_revision };
        }
        // Someone else wrote first (an operator on another replica, a new leader), or this replica is no longer elected.
        this.#link.log.warn({ rollout: this.name, state: item.shared.snapshot.state.name }, 'rollout decision not shared: the state in etcd changed first; taking that one');
        if (kv !== undefined) this.onState(kv.value.toString(), kv.mod_revision);
        return { kind: 'superseded' };
      } catch (err) {
        this.#link.failed('write rollout state', err);
        await new Promise((r) => setTimeout(r, RETRY_MS));
      }
    }
  }
}

function parseShared(value: string): { shared: SharedRollout; by: string; seq: number } | null {
  try {
    const raw = JSON.parse(value) as { snapshot?: unknown; epoch?: unknown; by?: unknown; seq?: unknown };
    if (typeof raw.epoch !== 'number') return null;
    return { shared: { snapshot: snapshotFromJSON(raw.snapshot), epoch: raw.epoch }, by: typeof raw.by === 'string' ? raw.by : '', seq: typeof raw.seq === 'number' ? raw.seq : 0 };
  } catch {
    return null;
  }
}

function isReport(r: unknown): r is WindowReport {
  const x = r as WindowReport | null;
  return typeof x === 'object' && x !== null && typeof x.requests === 'number' && typeof x.errors === 'number' && typeof x.successes === 'number' && Array.isArray(x.latencies);
}

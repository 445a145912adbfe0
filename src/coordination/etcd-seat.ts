// One rollout's seat in etcd: an etcd3 Election per rollout (leadership held by a lease), the shared state written
// compare-and-swap on its mod revision (a leader's writes also require its election key to exist: a deposed leader
// cannot overwrite its successor), every replica's window report under that replica's lease.
//
// Keys, under the fleet prefix:  rollouts/<pool>/<group>/state            {snapshot, epoch, by, at}  (no lease: survives restarts)
//                                rollouts/<pool>/<group>/leader/<lease>   the election (etcd3's Election)
//                                rollouts/<pool>/<group>/reports/<replica> {epoch, canary, stable}  (the replica's lease)
import type { Campaign, Election, Etcd3 } from 'etcd3';
import type { Logger } from '../observe/log.js';
import { snapshotFromJSON } from '../rollout/snapshot.js';
import type { WindowReport } from '../rollout/window.js';
import type { RolloutReport, RolloutSeat, SeatHandlers, SharedRollout } from './types.js';

/** What a seat needs from the connection it lives on (etcd.ts). */
export interface SeatLink {
  readonly client: Etcd3;
  readonly replica: string;
  readonly leaseSeconds: number;
  connected(): boolean;
  /** Why the store is unreachable, for refusals. */
  disconnectedReason(): string;
  failed(operation: string, err: unknown): void;
  succeeded(): void;
  leadershipChanged(): void;
  /** Put under this replica's lease (reports vanish with the replica). */
  putLeased(key: string, value: string): Promise<void>;
  log: Logger;
}

export class EtcdRolloutSeat implements RolloutSeat {
  readonly #link: SeatLink;
  readonly #base: string;
  readonly name: string;
  #handlers: SeatHandlers;
  #election: Election;
  #campaign: Campaign | null = null;
  /** Elected by etcd (the campaign said so and has not failed since). */
  #elected = false;
  #leading = false;
  /** Mod revision of the state key as last seen or written here ("0": none yet). */
  #revision = '0';
  /** The latest state to write, coalesced: only the newest matters. */
  #pending: SharedRollout | null = null;
  #writing = false;
  /** Reports of other replicas by replica id. */
  readonly #reports = new Map<string, RolloutReport>();
  /** The last report this replica published (requests on both sides and epoch), to skip unchanged ones. */
  #lastReport = '';
  #closed = false;

  constructor(link: SeatLink, prefix: string, pool: string, group: string, handlers: SeatHandlers) {
    this.#link = link;
    this.name = `${pool}/${group}`;
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

  publish(shared: SharedRollout): void {
    this.#pending = shared;
    void this.#flush();
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
      // A new leader writes the state it decides from, so followers know who leads (and a stale write fails fast).
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

  /** A watched or loaded state record; adopted unless this replica wrote it (or something newer was seen). */
  onState(value: string, modRevision: string): void {
    if (BigInt(modRevision) <= BigInt(this.#revision)) return;
    this.#revision = modRevision;
    const shared = parseShared(value);
    if (shared === null) {
      this.#link.log.error({ rollout: this.name, key: this.stateKey }, 'unreadable rollout state in etcd: ignored');
      return;
    }
    this.#handlers.adopt(shared);
  }

  /**
   * Read the state key (every heartbeat): the watch delivers decisions at once, but a watch re-established after an
   * outage can lag by seconds; this bounds how late a replica applies a decision to one heartbeat.
   */
  async poll(): Promise<void> {
    try {
      const r = await this.#link.client.get(this.stateKey).exec();
      const kv = r.kvs[0];
      if (kv !== undefined) this.onState(kv.value.toString(), kv.mod_revision);
    } catch (err) {
      this.#link.failed('read rollout state', err);
    }
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

  /** Publish this replica's window report when it changed (called every report interval). */
  async report(maxSamples: number): Promise<void> {
    if (this.#closed || !this.#link.connected()) return;
    const r = this.#handlers.report();
    const key = `${this.reportsPrefix}${this.#link.replica}`;
    const mark = r === null ? '' : `${r.epoch}:${r.canary.requests}:${r.stable.requests}`;
    if (mark === this.#lastReport) return;
    try {
      if (r === null) await this.#link.client.delete().key(key);
      else {
        const trimmed: RolloutReport = { epoch: r.epoch, canary: trim(r.canary, maxSamples), stable: trim(r.stable, maxSamples) };
        await this.#link.putLeased(key, JSON.stringify(trimmed));
      }
      this.#lastReport = mark;
      this.#link.succeeded();
    } catch (err) {
      this.#link.failed('report', err);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.refresh();
    const c = this.#campaign;
    this.#campaign = null;
    await c?.resign().catch(() => undefined);
  }

  /** Writes one at a time, newest state only; a lost compare-and-swap adopts what won instead. */
  async #flush(): Promise<void> {
    if (this.#writing) return;
    this.#writing = true;
    try {
      while (this.#pending !== null && !this.#closed) {
        const shared = this.#pending;
        this.#pending = null;
        await this.#write(shared);
      }
    } finally {
      this.#writing = false;
    }
  }

  async #write(shared: SharedRollout): Promise<void> {
    const client = this.#link.client;
    const value = JSON.stringify({ snapshot: shared.snapshot, epoch: shared.epoch, by: this.#link.replica, at: new Date().toISOString() });
    try {
      let txn = client.if(this.stateKey, 'Mod', '==', this.#revision);
      if (this.#leading && this.#campaign !== null) txn = txn.and(await this.#campaign.getCampaignKey(), 'Create', '>', 0);
      const r = await txn.then(client.put(this.stateKey).value(value)).else(client.get(this.stateKey)).commit();
      this.#link.succeeded();
      if (r.succeeded) {
        this.#revision = r.header.revision;
        return;
      }
      // Someone else wrote first (an operator on another replica, a new leader), or this replica is no longer elected.
      const kv = r.responses[0]?.response_range?.kvs[0];
      this.#link.log.warn({ rollout: this.name, state: shared.snapshot.state.name }, 'rollout decision not shared: the state in etcd changed first; taking that one');
      if (kv !== undefined) this.onState(kv.value.toString(), kv.mod_revision);
    } catch (err) {
      this.#link.failed('write rollout state', err);
      // Kept for the next attempt unless something newer is waiting: the decision must reach the other replicas.
      this.#pending ??= shared;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

function parseShared(value: string): SharedRollout | null {
  try {
    const raw = JSON.parse(value) as { snapshot?: unknown; epoch?: unknown };
    if (typeof raw.epoch !== 'number') return null;
    return { snapshot: snapshotFromJSON(raw.snapshot), epoch: raw.epoch };
  } catch {
    return null;
  }
}

function isReport(r: unknown): r is WindowReport {
  const x = r as WindowReport | null;
  return typeof x === 'object' && x !== null && typeof x.requests === 'number' && typeof x.errors === 'number' && typeof x.successes === 'number' && Array.isArray(x.latencies);
}

function trim(r: WindowReport, max: number): WindowReport {
  return r.latencies.length <= max ? r : { ...r, latencies: r.latencies.slice(0, max) };
}

// Where the shared view lives. Without `coordination`, nowhere but here: this replica's RolloutManager and outlier
// detectors decide alone (the workers' owner does so for its workers, workers/view.ts). With etcd, replicas share
// each rollout's state and one leader per rollout decides over every replica's reports; ejections decided by any
// replica apply on all. The rollout and outlier logic stays written once: they see only these interfaces.
import type { RolloutSnapshot } from '../rollout/types.js';
import type { WindowReport } from '../rollout/window.js';

/** A rollout's shared record: the state every replica shows and applies, and the window the leader is judging. */
export interface SharedRollout {
  readonly snapshot: RolloutSnapshot;
  readonly epoch: number;
}

/** One replica's traffic in the current window of a rollout. */
export interface RolloutReport {
  readonly epoch: number;
  readonly canary: WindowReport;
  readonly stable: WindowReport;
}

/** What a seat asks of the rollout it serves (the RolloutManager wires them to the controller). */
export interface SeatHandlers {
  /** This replica became (true) or stopped being (false) the one that decides this rollout. */
  leading(leading: boolean): void;
  /** Another replica decided: take its state. */
  adopt(shared: SharedRollout): void;
  /** This replica's traffic in the current window, or null when none is being judged. */
  report(): RolloutReport | null;
  /** The shared state vanished (etcd restored empty): share this replica's state again. */
  republish(): void;
}

/** How a published state fared: written; dropped because another replica's state came first; or the seat closed. */
export type WriteResult = 'written' | 'superseded' | 'closed';

/** One rollout's place in the shared view. */
export interface RolloutSeat {
  /** Whether this replica decides now (elected and connected). */
  readonly leading: boolean;
  /** A decision or an operator action made here: share it (resolves once written, or dropped). */
  publish(shared: SharedRollout): Promise<WriteResult>;
  /** The other replicas' reports of window `epoch`. */
  reports(epoch: number): { canary: WindowReport[]; stable: WindowReport[] };
  /** Null when an operator action may be taken here now, else why not (the shared store is unreachable). */
  refusal(): string | null;
  /** Other handlers (a reload built a new controller for the same rollout). */
  bind(handlers: SeatHandlers): void;
}

export interface SharedEjection {
  readonly backend: string;
  readonly reason: string;
  readonly detector: 'consecutive-5xx' | 'consecutive-gateway' | 'failure-rate';
  /** What is left of it when this replica hears of it. */
  readonly durationMs: number;
  /** The replica that decided it. */
  readonly by: string;
}

/** What /readyz detail, /admin/rollouts and the metrics say about coordination. */
export interface CoordinationStatus {
  readonly kind: 'etcd';
  readonly replica: string;
  readonly connected: boolean;
  /** ISO time the connection was last lost (while disconnected) or established. */
  readonly since: string;
  readonly lastError: string | null;
  /** Rollouts this replica leads, as pool/group. */
  readonly leading: string[];
}

export interface Coordination {
  readonly replica: string;
  /** Read the shared rollout states and ejections before the first build. Throws when the store cannot be reached. */
  load(): Promise<Map<string, SharedRollout>>;
  /** The seat of a rollout (the same one across reloads); `intervalMs`, its checks' interval, paces its reports. */
  seat(pool: string, group: string, handlers: SeatHandlers, intervalMs: number): RolloutSeat;
  /** Rollouts no longer configured: their seats resign. */
  keep(keys: ReadonlySet<string>): void;
  /** An ejection this replica decided: every replica applies it. */
  ejected(e: Omit<SharedEjection, 'by'>): void;
  /** Ejections other replicas decided (subscribe once). */
  onEjection(handler: (e: SharedEjection) => void): void;
  status(): CoordinationStatus;
  stop(): Promise<void>;
}

/** The rollout manager's key of a rollout. */
export function rolloutKey(pool: string, group: string): string {
  return `${pool}/${group}`;
}

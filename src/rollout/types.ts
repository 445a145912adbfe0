// The shapes of a canary rollout: its state (one variant per state, each with only its own data), checks and history; its config is config/types.ts RolloutSpec.

export type RolloutStateName = 'pending' | 'progressing' | 'paused' | 'promoted' | 'rolled-back';

/** The state machine's value: each variant carries only what that state needs (wall-clock times, so it serialises). */
export type RolloutState =
  | { readonly name: 'pending'; /** true until an operator starts a `start: manual` rollout. */ readonly awaitingStart: boolean }
  | {
      readonly name: 'progressing';
      /** Index into steps of the last step reached; -1 when a manual weight lies below the first step. */
      readonly step: number;
      /** Usually steps[step]; differs after a manual setWeight followed by resume. */
      readonly weight: number;
      /** Failed ratio checks so far in this rollout. */
      readonly failedChecks: number;
    }
  | { readonly name: 'paused'; readonly step: number; readonly weight: number; readonly failedChecks: number; readonly reason: string }
  | { readonly name: 'promoted'; readonly reason: string }
  | { readonly name: 'rolled-back'; readonly step: number; readonly reason: string };

/** One side's figures over a check window. */
export interface CheckFigures {
  requests: number;
  errors: number;
  /** errors / requests; 0 when there were no requests. */
  errorRate: number;
  /** Latency quantile of successful requests in ms; null with no successful request. */
  latencyMs: number | null;
}

export type CheckFailureKind = 'error-rate' | 'error-ratio' | 'latency-ratio';

export type CheckVerdict = 'pass' | 'fail' | 'inconclusive';

/** The result of comparing canary with stable over one window. */
export interface RolloutCheck {
  /** ISO wall time of the check. */
  at: string;
  verdict: CheckVerdict;
  /** The criteria that failed (empty unless verdict is fail). */
  failures: CheckFailureKind[];
  /** Why it failed or was inconclusive, readable; null on pass. */
  reason: string | null;
  /** Length of the window the figures cover. */
  windowMs: number;
  quantile: number;
  canary: CheckFigures;
  stable: CheckFigures;
  /** canary error rate / max(stable error rate, floor); null when not computed. */
  errorRatio: number | null;
  /** canary latency quantile / max(stable quantile, floor); null when not computed. */
  latencyRatio: number | null;
}

export interface RolloutHistoryEntry {
  /** ISO wall time. */
  at: string;
  from: RolloutStateName;
  to: RolloutStateName;
  /** Canary weight after the transition. */
  weight: number;
  step: number;
  reason: string;
  /** The check that caused it, or the last check before an operator action; null if none yet. */
  check: RolloutCheck | null;
}

/** Given to onChange whenever the canary weight or the state changes. */
export interface RolloutChange {
  pool: string;
  group: string;
  from: RolloutStateName;
  to: RolloutStateName;
  /** Canary weight now, 0..100. */
  weight: number;
  /** 100 - weight: the share the lead splits among the stable groups. */
  stableWeight: number;
  previousWeight: number;
  step: number;
  reason: string;
  check: RolloutCheck | null;
}

/** What GET /admin/rollouts shows for one rollout. `pending` is shown as its own state. */
export interface RolloutView {
  pool: string;
  group: string;
  state: RolloutStateName;
  weight: number;
  stableWeight: number;
  step: number;
  steps: number[];
  failedChecks: number;
  failureThreshold: number;
  canaryReady: boolean;
  reason: string | null;
  /** ISO time of the last transition; null before any. */
  since: string | null;
  lastCheck: RolloutCheck | null;
  history: RolloutHistoryEntry[];
}

/** Plain JSON kept across config reloads and restarts (see state-file.ts). */
export interface RolloutSnapshot {
  version: 1;
  pool: string;
  group: string;
  state: RolloutState;
  lastCheck: RolloutCheck | null;
  history: RolloutHistoryEntry[];
}

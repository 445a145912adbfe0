// The shapes of a canary rollout: its state (one variant per state, each with only its own data), checks and history; its config is config/types.ts RolloutSpec.

import type { BackendState } from '../backends/state.js';

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
      /** Failed checks so far in this rollout. */
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
  /** Latency of successful requests at the compared quantile (latency.tail, else latency.typical), ms; null with no successful request. */
  latencyMs: number | null;
}

export type CheckFailureKind = 'error-rate' | 'error-ratio' | 'latency-ratio' | 'backend-out';

export type CheckVerdict = 'pass' | 'fail' | 'inconclusive';

/**
 * What one criterion of a check concluded. `fail`: its figures are beyond the thresholds and a one-sided test shows the
 * canary worse with the configured confidence; `pass`: within the thresholds (for error rates, even at the pessimistic
 * end of the window's evidence); `undecided`: neither yet; `no-data`: too few samples; `off`: not configured.
 * `undecided` and `no-data` make the check inconclusive: the window keeps growing until the evidence decides.
 */
export type CriterionVerdict = 'pass' | 'fail' | 'undecided' | 'no-data' | 'off';

/** The absolute error-rate criterion (`maxErrorRate`): is the canary's rate above the maximum, with evidence? */
export interface ErrorRateEvidence {
  verdict: CriterionVerdict;
  /** Canary errors / requests. */
  rate: number;
  max: number;
  /** Pessimistic canary rate: the upper end of its 80 % one-sided Wilson interval; passing needs it <= max. */
  upper: number | null;
  /** One-sided binomial test (mid-p) that the canary's true rate is above `max`; null without enough requests. */
  pValue: number | null;
  /** Requests the canary needed (minRequests). */
  minRequests: number;
}

/** Canary errors against stable's (`maxErrorRatio`, `minErrorIncrease`): failing needs the ratio, the increase and the test. */
export interface ErrorComparisonEvidence {
  verdict: CriterionVerdict;
  /** Canary rate - stable rate (0..1); null when not compared. */
  difference: number | null;
  /** Canary rate / max(stable rate, 1 %); null when not compared. */
  ratio: number | null;
  /**
   * The pessimistic pair passing is judged on: the canary rate at the upper and stable's at the lower end of their 80 %
   * one-sided Wilson intervals (a few lucky requests on either side cannot pass a bad canary).
   */
  pessimistic: { canary: number; stable: number } | null;
  /** Fisher's exact test, one-sided, mid-p: the canary errs more often than stable. */
  pValue: number | null;
  maxRatio: number | null;
  minIncrease: number;
  /** Requests each side needed (minRequests). */
  minRequests: number;
}

/** Canary latency against stable's at one quantile. */
export interface LatencyPoint {
  verdict: CriterionVerdict;
  quantile: number;
  canaryMs: number | null;
  stableMs: number | null;
  /** canaryMs / max(stableMs, 1 ms). */
  ratio: number | null;
  /** canaryMs - stableMs. */
  differenceMs: number | null;
  /**
   * The one-sided test at this point: Mann–Whitney U over both samples at the median (a slower bulk), Fisher's exact
   * test on the share of each side at or above the pooled quantile in the tail (a slower tail, which U hardly sees).
   */
  test: 'mann-whitney' | 'tail-share';
  /** U of the canary sample (mann-whitney), or canary samples at or above the pooled quantile (tail-share). */
  statistic: number | null;
  pValue: number | null;
}

/**
 * Canary latency against stable's (`maxLatencyRatio`, `minLatencyIncrease`), successful requests only, at two points:
 * the median and the compared quantile. Either point failing fails the criterion; each is tested at alpha / 2.
 */
export interface LatencyEvidence {
  verdict: CriterionVerdict;
  /** Latency samples (successful requests, at most the reservoir's 2,000) each side had. */
  samples: { canary: number; stable: number };
  /** Samples each side needed (minRequests). */
  minSamples: number;
  maxRatio: number | null;
  minIncreaseMs: number;
  /** Significance each point was tested at. */
  alpha: number;
  /** The median (or latencyQuantile when that is lower), tested with Mann–Whitney U. */
  typical: LatencyPoint;
  /** U / (n1·n2): probability that a canary request is slower than a stable one (0.5 = same), the effect size of U. */
  probabilitySlower: number | null;
  /** latencyQuantile, lowered while the samples are too few to estimate it (10 above it per side); null when latencyQuantile <= 0.5. */
  tail: LatencyPoint | null;
}

/** One canary backend as the lead reports it to the controller (manager.ts, from the cluster). */
export interface CanaryBackend {
  readonly id: string;
  readonly state: BackendState;
  readonly reason: string;
  /**
   * Held for re-verification after a signal (a reset, a 503, a pooled connection closed by the peer): out of service
   * for a moment, usually back READY within milliseconds. It fails a check only if still out when the check runs.
   */
  readonly reverifying?: boolean;
}

/** A canary backend that left service while the rollout was judging it. */
export interface BackendOut {
  id: string;
  /** Its state when it was first seen out in this window (EJECTED, MISMATCH, UNREADY, LOADING, WARMING). */
  state: BackendState;
  reason: string;
  /** ISO wall time it was first seen out in this window. */
  since: string;
}

/** The result of comparing canary with stable over one window, with the evidence behind it. */
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
  /** The configured latencyQuantile (the one compared is latency.tail.quantile, lower while samples are few). */
  quantile: number;
  canary: CheckFigures;
  stable: CheckFigures;
  /** canary error rate / max(stable error rate, floor); null when not computed. */
  errorRatio: number | null;
  /** canary latency / max(stable latency, floor) at the compared quantile (latency.tail, else latency.typical); null when not computed. */
  latencyRatio: number | null;
  /** Significance level of every test in this check: 1 - confidence. */
  alpha: number;
  errorRate: ErrorRateEvidence;
  errors: ErrorComparisonEvidence;
  latency: LatencyEvidence;
  /** Canary backends out of service during the window: any one fails the check. */
  backendsOut: BackendOut[];
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
  /** Canary backends out of service in the current window (the next check fails while there is one). */
  backendsOut: BackendOut[];
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

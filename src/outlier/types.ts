// The outlier detector's public types: the outcomes it is fed and the events it reports (its config is config/types.ts OutlierSpec).

/**
 * What one response (or failed attempt) says about its backend; classification is the caller's.
 * server-error: a 5xx other than 502/503/504 (and whatever else the caller treats as one, e.g. TGI's 424).
 * gateway-error: 502/503/504, connect failure, reset, timeout; also counts as a 5xx for consecutive5xx, as in Envoy.
 */
export type Outcome = 'success' | 'server-error' | 'gateway-error';

/**
 * A backend as the detector sees it (implemented by backends/backend.ts). The `ejected` flag lives on the host,
 * written only by the detector through eject() / uneject(); the detector keeps the timing and the history.
 * A host that re-enters service through its probes clears the flag itself (state.ts serve()).
 */
export interface OutlierHost {
  readonly id: string;
  /** READY and not ejected: counts for "never eject the last READY backend". */
  isServing(): boolean;
  isEjected(): boolean;
  eject(reason: string): void;
  /** The ejection time is up: the host goes back through its readiness probe before it is READY. */
  uneject(reason: string): void;
}

/** What the detector tells its listener (metrics, logs); the flag itself is already set on the host. */
export type OutlierEvent<H extends OutlierHost = OutlierHost> =
  | ({ readonly type: 'ejected' } & EjectionEvent<H>)
  | { readonly type: 'ejection-ended'; readonly host: H; readonly reason: string }
  /** A detector tripped but the ejection was refused (pool cap or last serving backend); once per failure streak. */
  | { readonly type: 'ejection-skipped'; readonly host: H; readonly reason: string; readonly detector: Detector };

export type Detector = 'consecutive-5xx' | 'consecutive-gateway' | 'failure-rate';

export interface EjectionEvent<H extends OutlierHost = OutlierHost> {
  host: H;
  reason: string;
  detector: Detector;
  durationMs: number;
  /** Times this backend has been ejected, this one included (lifetime, never decays). */
  ejections: number;
  /** The back-off multiplier n of this ejection: durationMs = min(base x n, max). Decays while healthy. */
  multiplier: number;
  /** Another replica decided it (coordination/): this one applies it without judging. Absent when decided here. */
  by?: string;
}

export interface OutlierView {
  ejected: boolean;
  /** Lifetime ejection count. */
  ejections: number;
  /** Current back-off multiplier (the n of the last ejection, decayed since). */
  multiplier: number;
  /** Monotonic ms (clock.now()) at which the ejection ends, null when not ejected. */
  ejectedUntilMs: number | null;
  consecutive5xx: number;
  consecutiveGatewayErrors: number;
  /** Requests and errors seen in the failure-rate window (or the default window when that detector is off). */
  recentRequests: number;
  recentErrors: number;
  /** Reason of the last ejection. */
  lastReason: string | null;
}

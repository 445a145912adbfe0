// The outlier detector's public types: the outcomes it is fed and the events it reports (its config is config/types.ts OutlierSpec).

/**
 * What one response (or failed attempt) says about its backend; classification is the caller's.
 * server-error: a 5xx other than 502/503/504 (and whatever else the caller treats as one, e.g. TGI's 424).
 * gateway-error: 502/503/504, connect failure, reset, timeout; also counts as a 5xx for consecutive5xx, as in Envoy.
 */
export type Outcome = 'success' | 'server-error' | 'gateway-error';

/** Implemented by the lead's Backend. */
export interface OutlierHost {
  readonly id: string;
  /** READY and not ejected: counts for "never eject the last READY backend". */
  isServing(): boolean;
}

export type Detector = 'consecutive-5xx' | 'consecutive-gateway' | 'failure-rate';

export interface EjectionEvent {
  host: OutlierHost;
  reason: string;
  detector: Detector;
  durationMs: number;
  /** Times this backend has been ejected, this one included (lifetime, never decays). */
  ejections: number;
  /** The back-off multiplier n of this ejection: durationMs = min(base x n, max). Decays while healthy. */
  multiplier: number;
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

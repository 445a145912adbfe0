// The backend readiness state machine as a pure function: (state, event, thresholds) -> next state.

export type BackendState = 'LOADING' | 'WARMING' | 'READY' | 'UNREADY' | 'EJECTED' | 'MISMATCH' | 'DRAINING';

/** What the probe source has concluded so far, with hysteresis counters. */
export interface ProbeView {
  readonly state: 'LOADING' | 'READY' | 'UNREADY';
  /** Consecutive observations opposite to the current state. */
  readonly streak: number;
}

export type ProbeEvent = { readonly type: 'probe-pass' } | { readonly type: 'probe-fail' };

export interface Thresholds {
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
}

export interface Step<V> {
  readonly next: V;
  readonly flipped: boolean;
}

export const initialProbeView: ProbeView = { state: 'LOADING', streak: 0 };

/**
 * Hysteresis over probe results. A LOADING backend becomes READY on its first pass (it has never
 * served, so there is nothing to protect); READY needs `unhealthyThreshold` consecutive failures to
 * become UNREADY and UNREADY needs `healthyThreshold` consecutive passes to come back.
 */
export function probeStep(view: ProbeView, event: ProbeEvent, t: Thresholds): Step<ProbeView> {
  const pass = event.type === 'probe-pass';
  switch (view.state) {
    case 'LOADING':
      return pass ? { next: { state: 'READY', streak: 0 }, flipped: true } : { next: view, flipped: false };
    case 'READY':
      if (pass) return view.streak === 0 ? { next: view, flipped: false } : { next: { state: 'READY', streak: 0 }, flipped: false };
      if (view.streak + 1 >= t.unhealthyThreshold) return { next: { state: 'UNREADY', streak: 0 }, flipped: true };
      return { next: { state: 'READY', streak: view.streak + 1 }, flipped: false };
    case 'UNREADY':
      if (!pass) return view.streak === 0 ? { next: view, flipped: false } : { next: { state: 'UNREADY', streak: 0 }, flipped: false };
      if (view.streak + 1 >= t.healthyThreshold) return { next: { state: 'READY', streak: 0 }, flipped: true };
      return { next: { state: 'UNREADY', streak: view.streak + 1 }, flipped: false };
    default: {
      const never: never = view.state;
      throw new Error(`unknown probe state ${String(never)}`);
    }
  }
}

/** Flags owned by the different health sources; the visible state is derived, never stored. */
export interface HealthFlags {
  readonly probe: ProbeView['state'];
  readonly draining: boolean;
}

export function deriveState(flags: HealthFlags): BackendState {
  if (flags.draining) return 'DRAINING';
  return flags.probe;
}

// The backend state machine as a pure function over events, with the clock passed in: step(health, event, policy, now).
//
// Each health source owns its own part of the record — its flag, in Envoy's terms: probes, admission and warm-up
// the phase and hysteresis counters, liveness `live`, the operator and discovery `draining`, the outlier detector
// `ejected` — and applies only its own events (`SourceEvents`); the visible state is derived from the record by
// `visibleState`, never stored, so no source overwrites another's verdict.

export type BackendState = 'LOADING' | 'WARMING' | 'READY' | 'UNREADY' | 'EJECTED' | 'MISMATCH' | 'DRAINING';

/**
 * The road into service: loading -> admitting (model check) -> warming -> ready. A phase is named like the state it
 * shows when no other flag overrides it (`ready` shows READY unless ejected, draining or not live); `admitting`
 * shows LOADING (UNREADY once the backend has served).
 */
export type Phase = 'loading' | 'admitting' | 'mismatch' | 'warming' | 'ready';

export interface Health {
  readonly phase: Phase;
  /** False until the startup probe has passed (true when there is none). */
  readonly started: boolean;
  /** Consecutive readiness results opposite to what the phase expects (hysteresis counter). */
  readonly streak: number;
  /** Has this backend ever served? A backend that falls out of service shows UNREADY, not LOADING. */
  readonly everServed: boolean;
  /** The startup window expired before the backend first served; still probed, shown UNREADY. */
  readonly gaveUp: boolean;
  readonly live: boolean;
  readonly liveStreak: number;
  readonly draining: boolean;
  readonly ejected: boolean;
  /** Consecutive failed warm-ups, for the back-off. */
  readonly warmupFailures: number;
  /** Monotonic ms before which a readiness pass does not start admission again (warm-up back-off). */
  readonly holdUntil: number;
  /**
   * Taken out by a signal that the process may have changed (refused or reset connection, a 503, a failed readiness
   * probe): one readiness pass and a fresh admission bring it back, not the whole healthyThreshold.
   */
  readonly recheck: boolean;
}

export type HealthEvent =
  | { readonly type: 'startup-pass' }
  | { readonly type: 'startup-timeout' }
  | { readonly type: 'readiness-pass' }
  | { readonly type: 'readiness-fail' }
  | { readonly type: 'liveness-pass' }
  | { readonly type: 'liveness-fail' }
  | { readonly type: 'admitted' }
  | { readonly type: 'mismatch' }
  | { readonly type: 'warmup-done' }
  | { readonly type: 'warmup-failed' }
  | { readonly type: 'push-ready' }
  | { readonly type: 'push-unready' }
  | { readonly type: 'drain' }
  | { readonly type: 'undrain' }
  | { readonly type: 'eject' }
  | { readonly type: 'uneject' }
  | { readonly type: 'reverify' };

export type HealthEventType = HealthEvent['type'];

/** Who may move a backend: each health source writes only its own part of the record (Envoy's health flags). */
export type HealthSource = 'probe' | 'push' | 'admission' | 'warmup' | 'outlier' | 'operator' | 'discovery' | 'signal';

/** Where a visible change came from: a health source, or (in a worker process) the owner's routing view. */
export type ChangeSource = HealthSource | 'owner';

/** The events each source may apply; anything else does not type-check. */
export interface SourceEvents {
  probe: Extract<HealthEvent, { type: 'startup-pass' | 'startup-timeout' | 'readiness-pass' | 'readiness-fail' | 'liveness-pass' | 'liveness-fail' }>;
  /** The model server calling back (its model loaded, or is unloading). */
  push: Extract<HealthEvent, { type: 'push-ready' | 'push-unready' }>;
  admission: Extract<HealthEvent, { type: 'admitted' | 'mismatch' }>;
  warmup: Extract<HealthEvent, { type: 'warmup-done' | 'warmup-failed' }>;
  outlier: Extract<HealthEvent, { type: 'eject' | 'uneject' }>;
  operator: Extract<HealthEvent, { type: 'drain' | 'undrain' }>;
  /** Discovery no longer lists the backend: it drains and leaves. */
  discovery: Extract<HealthEvent, { type: 'drain' }>;
  /** Traffic suggests the process behind the address may have changed: hold it until it is verified again. */
  signal: Extract<HealthEvent, { type: 'reverify' }>;
}

export const EVENT_TYPES: readonly HealthEventType[] = [
  'startup-pass', 'startup-timeout', 'readiness-pass', 'readiness-fail', 'liveness-pass', 'liveness-fail',
  'admitted', 'mismatch', 'warmup-done', 'warmup-failed', 'push-ready', 'push-unready', 'drain', 'undrain', 'eject', 'uneject', 'reverify',
];

export interface Policy {
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
  readonly livenessThreshold: number;
  /** A model name / version / checksum is configured: check it before serving. */
  readonly admission: boolean;
  /** Warm-up requests are configured: send them before serving. */
  readonly warmup: boolean;
  /** Back-off after the n-th consecutive failed warm-up (n >= 1), in ms. */
  readonly warmupBackoffMs: (failures: number) => number;
}

export function initialHealth(hasStartupProbe: boolean): Health {
  return {
    phase: 'loading', started: !hasStartupProbe, streak: 0, everServed: false, gaveUp: false,
    live: true, liveStreak: 0, draining: false, ejected: false, warmupFailures: 0, holdUntil: 0, recheck: false,
  };
}

/** The phase that follows a passed readiness gate: admission, then warm-up, then service. */
function afterReadiness(p: Policy): Phase {
  return p.admission ? 'admitting' : p.warmup ? 'warming' : 'ready';
}

/**
 * Enter service from the road (readiness, admission, warm-up). This also ends an outlier ejection: the backend
 * fell out and came back through every check, so the ejection judged a server that no longer runs (Envoy's
 * successful_active_health_check_uneject_host). A backend that never left service stays ejected.
 */
function serve(h: Health): Health {
  // Back from a re-verification (a signal, then one probe and admission): the same process, so an ejection stands.
  return { ...h, phase: 'ready', streak: 0, everServed: true, gaveUp: false, warmupFailures: 0, holdUntil: 0, ejected: h.recheck && h.ejected, recheck: false };
}

/** Leave the road into service and start it again from loading (readiness must pass again). */
function fallBack(h: Health): Health {
  return { ...h, phase: 'loading', streak: 0 };
}

function enter(h: Health, phase: Phase): Health {
  return phase === 'ready' ? serve(h) : { ...h, phase, streak: 0 };
}

export function step(h: Health, e: HealthEvent, p: Policy, now: number): Health {
  switch (e.type) {
    case 'startup-pass':
      return h.started ? h : { ...h, started: true };
    case 'startup-timeout':
      return h.phase === 'ready' || h.gaveUp ? h : { ...h, gaveUp: true };
    case 'readiness-pass':
      return readinessPass(h, p, now);
    case 'readiness-fail':
      return readinessFail(h, p);
    case 'liveness-pass':
      return h.live && h.liveStreak === 0 ? h : { ...h, live: true, liveStreak: 0 };
    case 'liveness-fail': {
      if (!h.live) return h;
      const liveStreak = h.liveStreak + 1;
      return liveStreak >= p.livenessThreshold ? { ...h, live: false, liveStreak: 0 } : { ...h, liveStreak };
    }
    case 'admitted':
      if (h.phase !== 'admitting' && h.phase !== 'mismatch') return h;
      return enter(h, p.warmup ? 'warming' : 'ready');
    case 'mismatch':
      // From `ready` too: the periodic re-check found another model behind the address.
      if (h.phase !== 'admitting' && h.phase !== 'mismatch' && h.phase !== 'ready') return h;
      return h.phase === 'mismatch' ? h : { ...h, phase: 'mismatch', streak: 0 };
    case 'warmup-done':
      return h.phase === 'warming' ? serve(h) : h;
    case 'warmup-failed': {
      if (h.phase !== 'warming') return h;
      const warmupFailures = h.warmupFailures + 1;
      return { ...fallBack(h), warmupFailures, holdUntil: now + p.warmupBackoffMs(warmupFailures) };
    }
    case 'push-ready':
      // The model server says its model has loaded: the readiness gate is open, admission and warm-up still run.
      if (h.phase !== 'loading') return h;
      return enter({ ...h, started: true }, afterReadiness(p));
    case 'push-unready':
      return h.phase === 'loading' ? h : fallBack(h);
    case 'drain':
      return h.draining ? h : { ...h, draining: true };
    case 'undrain':
      return h.draining ? { ...h, draining: false } : h;
    case 'eject':
      return h.ejected ? h : { ...h, ejected: true };
    case 'uneject':
      // Back from an ejection through the readiness probe (and admission, warm-up) rather than straight to READY.
      if (!h.ejected) return h;
      return h.phase === 'ready' ? { ...fallBack(h), ejected: false } : { ...h, ejected: false };
    case 'reverify':
      // Out of the road into service at once; a backend already out (loading, mismatch) keeps its own way back.
      return h.phase === 'loading' || h.phase === 'mismatch' ? h : { ...h, phase: 'loading', streak: 0, recheck: true };
    default: {
      const never: never = e;
      throw new Error(`unknown event ${JSON.stringify(never)}`);
    }
  }
}

function readinessPass(h: Health, p: Policy, now: number): Health {
  switch (h.phase) {
    case 'loading': {
      if (!h.started || now < h.holdUntil) return h;
      // Never served: the first pass opens the gate (nothing to protect). Fell out of service: hysteresis. Held by a
      // signal: one pass, then admission decides (it re-reads the model).
      const needed = h.everServed && !h.recheck ? p.healthyThreshold : 1;
      const streak = h.streak + 1;
      return streak >= needed ? enter(h, afterReadiness(p)) : { ...h, streak };
    }
    case 'ready':
    case 'admitting':
    case 'mismatch':
    case 'warming':
      return h.streak === 0 ? h : { ...h, streak: 0 };
    default:
      return exhaustive(h.phase);
  }
}

function readinessFail(h: Health, p: Policy): Health {
  switch (h.phase) {
    case 'loading':
      return h.streak === 0 ? h : { ...h, streak: 0 };
    case 'ready':
    case 'admitting':
    case 'mismatch':
    case 'warming': {
      const streak = h.streak + 1;
      return streak >= p.unhealthyThreshold ? fallBack(h) : { ...h, streak };
    }
    default:
      return exhaustive(h.phase);
  }
}

function exhaustive(x: never): never {
  throw new Error(`unhandled ${String(x)}`);
}

/** The one state users see; only READY takes new requests. */
export function visibleState(h: Health): BackendState {
  if (h.draining) return 'DRAINING';
  if (!h.live) return 'UNREADY';
  switch (h.phase) {
    case 'loading':
    case 'admitting':
      return h.everServed || h.gaveUp ? 'UNREADY' : 'LOADING';
    case 'mismatch':
      return 'MISMATCH';
    case 'warming':
      return 'WARMING';
    case 'ready':
      return h.ejected ? 'EJECTED' : 'READY';
    default:
      return exhaustive(h.phase);
  }
}

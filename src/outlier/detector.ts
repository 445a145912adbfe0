// Passive outlier detection for one pool: consecutive-error and failure-rate detectors, timed ejection with back-off, and the pool's ejection cap.
//
// The detector owns only the `ejected` verdict. It tells the lead through onEject / onUneject, and the lead steps the
// backend state machine ('eject' / 'uneject'). Consecutive-error detectors eject on the failing response itself,
// inside report(): a backend failing in 1 ms looks fastest to least-request and would otherwise draw the traffic
// of a whole sweep interval (the "black hole"). Only the failure-rate detector waits for the sweep.
import type { Clock, Timer } from '../clock.js';
import { FAILURE_RATE_DEFAULTS } from '../config/defaults.js';
import type { OutlierSpec } from '../config/types.js';
import { capRefusal, ejectionDurationMs, maxMultiplier } from './ejection.js';
import type { Detector, EjectionEvent, OutlierHost, OutlierView, Outcome } from './types.js';
import { OutcomeWindow } from './window.js';

export interface OutlierDeps {
  clock: Clock;
  onEject(e: EjectionEvent): void;
  /** The ejection time is up; the backend should pass its readiness probe again before it is READY. */
  onUneject(host: OutlierHost, reason: string): void;
  /** A detector tripped but the ejection was refused (pool cap or last serving backend); once per failure streak. */
  onSkip?(host: OutlierHost, reason: string, detector: Detector): void;
}

/** Per-backend state; survives setHosts() for backends that stay. */
class HostRecord {
  consecutive5xx = 0;
  consecutiveGateway = 0;
  /** The refused trip of the current failure streak was reported; further failures retry the ejection silently. */
  skipReported = false;
  ejected = false;
  ejectedUntil = 0;
  lastDurationMs = 0;
  ejections = 0;
  multiplier = 0;
  /** Monotonic ms of the last un-ejection or decay step: the multiplier decays after each full interval after it. */
  calmSince = 0;
  lastReason: string | null = null;
  timer: Timer | null = null;
  readonly window: OutcomeWindow;

  constructor(public host: OutlierHost, windowMs: number, now: number) {
    this.window = new OutcomeWindow(windowMs, now);
  }
}

export class OutlierDetector {
  readonly #config: OutlierSpec;
  readonly #deps: OutlierDeps;
  readonly #clock: Clock;
  readonly #windowMs: number;
  readonly #maxMultiplier: number;
  #records = new Map<OutlierHost, HostRecord>();
  /** Same records by id: a backend re-created by a reload keeps its record, and late reports of the old object still land. */
  #byId = new Map<string, HostRecord>();
  #ejectedCount = 0;
  #sweepTimer: Timer | null = null;
  #stopped = false;

  /** `config` comes validated from config/ (schema.ts checks every range). */
  constructor(config: OutlierSpec, deps: OutlierDeps) {
    this.#config = config;
    this.#deps = deps;
    this.#clock = deps.clock;
    this.#windowMs = config.failureRate?.windowMs ?? FAILURE_RATE_DEFAULTS.windowMs;
    this.#maxMultiplier = maxMultiplier(config.baseEjectionTimeMs, config.maxEjectionTimeMs);
  }

  /** The pool's backends. Records of backends that stay (same object or same id) are kept; removed ones are forgotten. */
  setHosts(hosts: readonly OutlierHost[]): void {
    const now = this.#clock.now();
    const records = new Map<OutlierHost, HostRecord>();
    const byId = new Map<string, HostRecord>();
    for (const host of hosts) {
      if (records.has(host)) continue;
      let r = this.#records.get(host) ?? this.#byId.get(host.id);
      if (r === undefined || byId.get(host.id) === r) r = new HostRecord(host, this.#windowMs, now);
      r.host = host;
      records.set(host, r);
      byId.set(host.id, r);
    }
    for (const r of this.#records.values()) {
      if (byId.get(r.host.id) !== r) this.#cancelTimer(r);
    }
    this.#records = records;
    this.#byId = byId;
    this.#ejectedCount = 0;
    for (const r of records.values()) if (r.ejected) this.#ejectedCount++;
  }

  /** Hot path: one call per response. O(1); the success case allocates nothing. Unknown and ejected backends are ignored. */
  report(host: OutlierHost, outcome: Outcome): void {
    if (this.#stopped) return;
    const r = this.#records.get(host) ?? this.#byId.get(host.id);
    // Responses still arriving from an ejected backend were sent before the ejection: they say nothing new.
    if (r === undefined || r.ejected) return;
    const now = this.#clock.now();
    if (outcome === 'success') {
      r.consecutive5xx = 0;
      r.consecutiveGateway = 0;
      r.skipReported = false;
      r.window.record(false, now);
      return;
    }
    r.window.record(true, now);
    r.consecutive5xx++;
    if (outcome === 'gateway-error') r.consecutiveGateway++;
    else r.consecutiveGateway = 0;
    const c = this.#config;
    if (c.consecutiveGatewayErrors > 0 && r.consecutiveGateway >= c.consecutiveGatewayErrors) {
      this.#tryEject(r, 'consecutive-gateway', `${r.consecutiveGateway} consecutive gateway errors`, now);
    } else if (c.consecutive5xx > 0 && r.consecutive5xx >= c.consecutive5xx) {
      this.#tryEject(r, 'consecutive-5xx', `${r.consecutive5xx} consecutive server errors`, now);
    }
  }

  /**
   * The backend came back into service through readiness, admission and warm-up while still ejected
   * (a restarted replica): its ejection ends now, without an onUneject, and it no longer counts
   * toward maxEjectionPercent. The back-off multiplier is kept.
   */
  readmitted(host: OutlierHost): void {
    const r = this.#records.get(host) ?? this.#byId.get(host.id);
    if (r === undefined || !r.ejected) return;
    this.#cancelTimer(r);
    r.ejected = false;
    r.ejectedUntil = 0;
    this.#ejectedCount--;
    r.calmSince = this.#clock.now();
    r.consecutive5xx = 0;
    r.consecutiveGateway = 0;
    r.window.clear();
  }

  /** Length of the sliding window behind view().recentRequests / recentErrors. */
  get windowMs(): number {
    return this.#windowMs;
  }

  isEjected(host: OutlierHost): boolean {
    return (this.#records.get(host) ?? this.#byId.get(host.id))?.ejected ?? false;
  }

  view(host: OutlierHost): OutlierView {
    const r = this.#records.get(host) ?? this.#byId.get(host.id);
    if (r === undefined) {
      return { ejected: false, ejections: 0, multiplier: 0, ejectedUntilMs: null, consecutive5xx: 0, consecutiveGatewayErrors: 0, recentRequests: 0, recentErrors: 0, lastReason: null };
    }
    const now = this.#clock.now();
    return {
      ejected: r.ejected,
      ejections: r.ejections,
      multiplier: r.multiplier,
      ejectedUntilMs: r.ejected ? r.ejectedUntil : null,
      consecutive5xx: r.consecutive5xx,
      consecutiveGatewayErrors: r.consecutiveGateway,
      recentRequests: r.window.requests(now),
      recentErrors: r.window.errors(now),
      lastReason: r.lastReason,
    };
  }

  /** Start the periodic sweep. After stop(), also re-arms the un-ejection timers (ejections already over end at once). */
  start(): void {
    this.#stopped = false;
    if (this.#sweepTimer === null) this.#sweepTimer = this.#clock.setTimer(this.#config.intervalMs, this.#sweep);
    const now = this.#clock.now();
    for (const r of this.#records.values()) {
      if (!r.ejected || r.timer !== null) continue;
      if (r.ejectedUntil <= now) this.#uneject(r);
      else r.timer = this.#clock.setTimer(r.ejectedUntil - now, () => this.#uneject(r));
    }
  }

  /** Teardown: no sweep, no pending timers, reports ignored. Ejected backends stay ejected until start(). */
  stop(): void {
    this.#stopped = true;
    this.#sweepTimer?.cancel();
    this.#sweepTimer = null;
    for (const r of this.#records.values()) this.#cancelTimer(r);
  }

  /** Failure-rate verdicts and decay of the back-off multiplier; re-armed first so a throwing callback cannot end it. */
  readonly #sweep = (): void => {
    this.#sweepTimer = this.#clock.setTimer(this.#config.intervalMs, this.#sweep);
    const now = this.#clock.now();
    const fr = this.#config.failureRate;
    for (const r of this.#records.values()) {
      if (r.ejected) continue;
      if (fr !== null) {
        const requests = r.window.requests(now);
        const errors = r.window.errors(now);
        if (requests > 0 && requests >= fr.minRequests && errors / requests >= fr.threshold) {
          const reason = `error rate ${percent(errors / requests)} (${errors} of ${requests} requests in the last ${fr.windowMs}ms) >= ${percent(fr.threshold)}`;
          if (this.#tryEject(r, 'failure-rate', reason, now)) continue;
        }
      }
      // Only a backend that is back in service and stayed out of trouble for a whole interval earns a smaller multiplier.
      if (r.multiplier > 0 && now - r.calmSince >= this.#config.intervalMs && r.host.isServing()) {
        r.multiplier--;
        r.calmSince = now;
      }
    }
  };

  #tryEject(r: HostRecord, detector: Detector, reason: string, now: number): boolean {
    const refusal = this.#refusal(r);
    if (refusal !== null) {
      if (!r.skipReported) this.#deps.onSkip?.(r.host, `${reason}; not ejected: ${refusal}`, detector);
      // A consecutive streak reports its refusal once; the failure-rate detector reports once per sweep.
      r.skipReported = detector !== 'failure-rate';
      return false;
    }
    r.ejected = true;
    this.#ejectedCount++;
    r.ejections++;
    r.multiplier = Math.min(r.multiplier + 1, this.#maxMultiplier);
    const durationMs = ejectionDurationMs(this.#config.baseEjectionTimeMs, this.#config.maxEjectionTimeMs, r.multiplier);
    r.ejectedUntil = now + durationMs;
    r.lastDurationMs = durationMs;
    r.lastReason = reason;
    // A returning backend starts with a clean slate, so old failures cannot eject it again at once.
    r.consecutive5xx = 0;
    r.consecutiveGateway = 0;
    r.skipReported = false;
    r.window.clear();
    r.timer = this.#clock.setTimer(durationMs, () => this.#uneject(r));
    this.#deps.onEject({ host: r.host, reason, detector, durationMs, ejections: r.ejections, multiplier: r.multiplier });
    return true;
  }

  /** Null when `r` may be ejected, else why not. */
  #refusal(r: HostRecord): string | null {
    const cap = capRefusal(this.#ejectedCount, this.#records.size, this.#config.maxEjectionPercent);
    if (cap !== null) return cap;
    if (r.host.isServing() && !this.#anotherServing(r)) return 'it is the last serving backend of its pool';
    return null;
  }

  #anotherServing(r: HostRecord): boolean {
    for (const o of this.#records.values()) {
      if (o !== r && !o.ejected && o.host.isServing()) return true;
    }
    return false;
  }

  #uneject(r: HostRecord): void {
    r.timer = null;
    if (!r.ejected) return;
    r.ejected = false;
    r.ejectedUntil = 0;
    this.#ejectedCount--;
    r.calmSince = this.#clock.now();
    r.consecutive5xx = 0;
    r.consecutiveGateway = 0;
    r.window.clear();
    this.#deps.onUneject(r.host, `ejection of ${r.lastDurationMs}ms ended (${r.lastReason ?? 'unknown reason'})`);
  }

  #cancelTimer(r: HostRecord): void {
    r.timer?.cancel();
    r.timer = null;
  }
}

function percent(x: number): string {
  return `${Math.round(x * 1000) / 10}%`;
}

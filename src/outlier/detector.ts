// Passive outlier detection for one pool: consecutive-error and failure-rate detectors, timed ejection with back-off, and the pool's ejection cap.
//
// The detector writes only the host's `ejected` flag (host.eject() / host.uneject()) and keeps the timing and history
// behind it; listeners hear of it through one event callback. Consecutive-error detectors eject on the failing response itself,
// inside report(): a backend failing in 1 ms looks fastest to least-request and would otherwise draw the traffic
// of a whole sweep interval (the "black hole"). Only the failure-rate detector waits for the sweep.
import type { Clock, Timer } from '../clock.js';
import { FAILURE_RATE_DEFAULTS } from '../config/defaults.js';
import type { OutlierSpec } from '../config/types.js';
import { capRefusal, ejectionDurationMs, maxMultiplier } from './ejection.js';
import type { Detector, OutlierEvent, OutlierHost, OutlierView, Outcome } from './types.js';
import { OutcomeWindow } from './window.js';

export interface OutlierDeps<H extends OutlierHost> {
  clock: Clock;
  /** Ejections, their end and refused ejections, after the host's flag was written. */
  onEvent(e: OutlierEvent<H>): void;
}

/** Per-backend state; survives setHosts() for backends that stay. */
class HostRecord<H extends OutlierHost> {
  consecutive5xx = 0;
  consecutiveGateway = 0;
  /** The refused trip of the current failure streak was reported; further failures retry the ejection silently. */
  skipReported = false;
  /** Monotonic ms at which this detector's ejection ends; 0 when it has none open. */
  ejectedUntil = 0;
  lastDurationMs = 0;
  ejections = 0;
  multiplier = 0;
  /** Monotonic ms of the last un-ejection or decay step: the multiplier decays after each full interval after it. */
  calmSince = 0;
  lastReason: string | null = null;
  timer: Timer | null = null;
  readonly window: OutcomeWindow;

  constructor(public host: H, windowMs: number, now: number) {
    this.window = new OutcomeWindow(windowMs, now);
  }
}

export class OutlierDetector<H extends OutlierHost = OutlierHost> {
  readonly #config: OutlierSpec;
  readonly #deps: OutlierDeps<H>;
  readonly #clock: Clock;
  readonly #windowMs: number;
  readonly #maxMultiplier: number;
  #records = new Map<OutlierHost, HostRecord<H>>();
  /** Same records by id: a backend re-created by a reload keeps its record, and late reports of the old object still land. */
  #byId = new Map<string, HostRecord<H>>();
  #sweepTimer: Timer | null = null;
  #stopped = false;

  /** `config` comes validated from config/ (schema.ts checks every range). */
  constructor(config: OutlierSpec, deps: OutlierDeps<H>) {
    this.#config = config;
    this.#deps = deps;
    this.#clock = deps.clock;
    this.#windowMs = config.failureRate?.windowMs ?? FAILURE_RATE_DEFAULTS.windowMs;
    this.#maxMultiplier = maxMultiplier(config.baseEjectionTimeMs, config.maxEjectionTimeMs);
  }

  /** The pool's backends. Records of backends that stay (same object or same id) are kept; removed ones are forgotten. */
  setHosts(hosts: readonly H[]): void {
    const now = this.#clock.now();
    const records = new Map<OutlierHost, HostRecord<H>>();
    const byId = new Map<string, HostRecord<H>>();
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
    // A host that arrives ejected with no ejection of this detector behind it (a reload changed the outlier settings,
    // so this is a new detector): give it one base ejection time from now, so it does not stay out forever.
    for (const r of records.values()) {
      if (r.ejectedUntil !== 0 || !r.host.isEjected()) continue;
      r.ejectedUntil = now + this.#config.baseEjectionTimeMs;
      r.lastDurationMs = this.#config.baseEjectionTimeMs;
      if (!this.#stopped) r.timer = this.#clock.setTimer(this.#config.baseEjectionTimeMs, () => this.#uneject(r));
    }
  }

  /** Hot path: one call per response. O(1); the success case allocates nothing. Unknown and ejected backends are ignored. */
  report(host: OutlierHost, outcome: Outcome): void {
    if (this.#stopped) return;
    const r = this.#records.get(host) ?? this.#byId.get(host.id);
    // Responses still arriving from an ejected backend were sent before the ejection: they say nothing new.
    if (r === undefined || r.host.isEjected()) return;
    const now = this.#clock.now();
    if (r.ejectedUntil !== 0) this.#readmitted(r, now);
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
   * The host came back into service through readiness, admission and warm-up while still ejected (a restarted
   * replica): state.ts cleared its flag, so the ejection is over. Noticed lazily, at the next report or sweep:
   * the timer goes, the counters start afresh, the back-off multiplier is kept.
   */
  #readmitted(r: HostRecord<H>, now: number): void {
    this.#cancelTimer(r);
    r.ejectedUntil = 0;
    r.calmSince = now;
    r.consecutive5xx = 0;
    r.consecutiveGateway = 0;
    r.window.clear();
  }

  /** Length of the sliding window behind view().recentRequests / recentErrors. */
  get windowMs(): number {
    return this.#windowMs;
  }

  isEjected(host: OutlierHost): boolean {
    const r = this.#records.get(host) ?? this.#byId.get(host.id);
    return r !== undefined && r.host.isEjected();
  }

  view(host: OutlierHost): OutlierView {
    const r = this.#records.get(host) ?? this.#byId.get(host.id);
    if (r === undefined) {
      return { ejected: false, ejections: 0, multiplier: 0, ejectedUntilMs: null, consecutive5xx: 0, consecutiveGatewayErrors: 0, recentRequests: 0, recentErrors: 0, lastReason: null };
    }
    const now = this.#clock.now();
    const ejected = r.host.isEjected();
    return {
      ejected,
      ejections: r.ejections,
      multiplier: r.multiplier,
      ejectedUntilMs: ejected && r.ejectedUntil !== 0 ? r.ejectedUntil : null,
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
      if (r.ejectedUntil === 0 || r.timer !== null) continue;
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
      if (r.host.isEjected()) continue;
      if (r.ejectedUntil !== 0) this.#readmitted(r, now);
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

  #tryEject(r: HostRecord<H>, detector: Detector, reason: string, now: number): boolean {
    const refusal = this.#refusal(r);
    if (refusal !== null) {
      if (!r.skipReported) this.#deps.onEvent({ type: 'ejection-skipped', host: r.host, reason: `${reason}; not ejected: ${refusal}`, detector });
      // A consecutive streak reports its refusal once; the failure-rate detector reports once per sweep.
      r.skipReported = detector !== 'failure-rate';
      return false;
    }
    r.multiplier = Math.min(r.multiplier + 1, this.#maxMultiplier);
    this.#eject(r, detector, reason, ejectionDurationMs(this.#config.baseEjectionTimeMs, this.#config.maxEjectionTimeMs, r.multiplier), now);
    return true;
  }

  /** Takes `r` out for `durationMs` — decided here, or by replica `by` — and says so. */
  #eject(r: HostRecord<H>, detector: Detector, reason: string, durationMs: number, now: number, by?: string): void {
    this.#cancelTimer(r);
    r.ejections++;
    r.ejectedUntil = now + durationMs;
    r.lastDurationMs = durationMs;
    r.lastReason = by === undefined ? reason : `${reason} (decided by replica ${by})`;
    // A returning backend starts with a clean slate, so old failures cannot eject it again at once.
    r.consecutive5xx = 0;
    r.consecutiveGateway = 0;
    r.skipReported = false;
    r.window.clear();
    r.timer = this.#clock.setTimer(durationMs, () => this.#uneject(r));
    r.host.eject(`ejected for ${Math.round(durationMs / 1000)} s${by === undefined ? '' : ` by replica ${by}`}: ${reason}`);
    const event = { type: 'ejected', host: r.host, reason, detector, durationMs, ejections: r.ejections, multiplier: r.multiplier } as const;
    this.#deps.onEvent(by === undefined ? event : { ...event, by });
  }

  /**
   * Another replica ejected this host (coordination/): eject it here too, for the time that replica chose — unless
   * this replica's own view refuses it: the pool's cap, or the last backend serving here (each replica sees health
   * through its own probes, and two replicas ejecting two backends at once must not empty a pool on both). A refusal
   * is reported as a skipped ejection. Returns false for an unknown host, one ejected already, a refusal, or after stop().
   */
  adopt(host: OutlierHost, detector: Detector, reason: string, durationMs: number, by: string): boolean {
    const r = this.#records.get(host) ?? this.#byId.get(host.id);
    if (r === undefined || this.#stopped || host.isEjected() || !(durationMs > 0)) return false;
    const refusal = this.#refusal(r);
    if (refusal !== null) {
      this.#deps.onEvent({ type: 'ejection-skipped', host: r.host, reason: `${reason} (decided by replica ${by}); not ejected here: ${refusal}`, detector });
      return false;
    }
    this.#eject(r, detector, reason, durationMs, this.#clock.now(), by);
    return true;
  }

  /** Null when `r` may be ejected, else why not. */
  #refusal(r: HostRecord<H>): string | null {
    let ejected = 0;
    for (const o of this.#records.values()) if (o.host.isEjected()) ejected++;
    const cap = capRefusal(ejected, this.#records.size, this.#config.maxEjectionPercent);
    if (cap !== null) return cap;
    if (r.host.isServing() && !this.#anotherServing(r)) return 'it is the last serving backend of its pool';
    return null;
  }

  #anotherServing(r: HostRecord<H>): boolean {
    for (const o of this.#records.values()) {
      if (o !== r && !o.host.isEjected() && o.host.isServing()) return true;
    }
    return false;
  }

  #uneject(r: HostRecord<H>): void {
    r.timer = null;
    const now = this.#clock.now();
    const stillEjected = r.host.isEjected();
    this.#readmitted(r, now);
    // Back in service by its probes already (readmitted): nothing to end.
    if (!stillEjected) return;
    const reason = `ejection of ${r.lastDurationMs}ms ended (${r.lastReason ?? 'unknown reason'})`;
    r.host.uneject(`${reason}; waiting for readiness`);
    this.#deps.onEvent({ type: 'ejection-ended', host: r.host, reason });
  }

  #cancelTimer(r: HostRecord<H>): void {
    r.timer?.cancel();
    r.timer = null;
  }
}

function percent(x: number): string {
  return `${Math.round(x * 1000) / 10}%`;
}

// The canary rollout of one group of one pool: steps its weight up on the clock, judges each interval, promotes or rolls back.

import type { Clock, Timer } from '../clock.js';
import type { RolloutSpec } from '../config/types.js';
import { analyse } from './analysis.js';
import { restoreState, stepFor } from './snapshot.js';
import type {
  BackendOut,
  CanaryBackend,
  RolloutChange,
  RolloutCheck,
  RolloutHistoryEntry,
  RolloutSnapshot,
  RolloutState,
  RolloutView,
} from './types.js';
import { mergeReports, RESERVOIR_SIZE, RequestWindow, type WindowReport } from './window.js';

/** The window being judged, handed from a controller to the one that replaces it on a reload. */
export interface RolloutCarry {
  readonly canary: RequestWindow;
  readonly stable: RequestWindow;
  readonly windowStart: number;
  readonly dueAt: number;
  readonly epoch: number;
  readonly served: ReadonlySet<string>;
  readonly out: ReadonlyMap<string, BackendOut>;
}

/** Transitions kept in history (oldest dropped first). */
export const HISTORY_LIMIT = 50;

export interface RolloutControllerOptions {
  pool: string;
  /** The canary group's name. */
  canary: string;
  /** The other groups of the pool; their requests together form the stable baseline. */
  stable: string[];
  config: RolloutSpec;
  clock: Clock;
  random: () => number;
  /** Weights or state changed: the lead applies weights, logs and counts. Not called from the constructor. */
  onChange(c: RolloutChange): void;
  /** Every check, conclusive or not (for logs and metrics); optional. */
  onCheck?(c: RolloutCheck): void;
  /** A snapshot from before a reload or restart; ignored unless pool and group match. */
  restored?: RolloutSnapshot;
  /**
   * False on a replica that follows another replica's decisions (coordination/): it counts its traffic and shows the
   * shared state (adopt()), but never starts, checks, promotes or rolls back by itself; operator actions still apply
   * (the lead publishes them). Default true: this controller decides.
   */
  leading?: boolean;
  /** The window the restored state was being judged over (coordination/); windows carry it so reports match. */
  epoch?: number;
  /** The controller this one replaces on a reload (its handOver()): the window and due time go on. */
  carry?: RolloutCarry;
  /** The state changed without a transition (a check held the weight, or was inconclusive): publish / persist it. */
  onRestate?(): void;
  /** Other replicas' reports of the current window (coordination/), merged with this one's at each check. */
  reports?(epoch: number): { canary: readonly WindowReport[]; stable: readonly WindowReport[] };
}

/** The canary weight a state implies. */
function weightOf(s: RolloutState): number {
  switch (s.name) {
    case 'pending':
    case 'rolled-back':
      return 0;
    case 'progressing':
    case 'paused':
      return s.weight;
    case 'promoted':
      return 100;
    default: {
      const never: never = s;
      return never;
    }
  }
}

export class RolloutController {
  readonly #pool: string;
  readonly #canary: string;
  readonly #stableGroups: ReadonlySet<string>;
  readonly #config: RolloutSpec;
  readonly #clock: Clock;
  readonly #onChange: (c: RolloutChange) => void;
  readonly #onCheck: ((c: RolloutCheck) => void) | undefined;
  readonly #onRestate: (() => void) | undefined;
  readonly #reports: RolloutControllerOptions['reports'];
  readonly #random: () => number;
  #leading: boolean;
  /** Which window is being judged: +1 at every reset, shared with the other replicas through adopt(). */
  #epoch: number;
  #canaryWindow: RequestWindow;
  #stableWindow: RequestWindow;
  #state: RolloutState;
  #canaryReady = false;
  /** The canary group's backends as last reported by the lead. */
  #backends: readonly CanaryBackend[] = [];
  /** Canary backends seen READY since this rollout began: one of them leaving service is a failure, one still coming up is not. */
  readonly #served = new Set<string>();
  /** Canary backends out of service at some point of the current window (first sighting kept): each fails the check. */
  readonly #out = new Map<string, BackendOut>();
  #windowStart: number;
  #timer: Timer | null = null;
  /** Clock time the current window's check is due: kept across a loss and a return of leadership (coordination/). */
  #dueAt = 0;
  #stopped = false;
  #lastCheck: RolloutCheck | null = null;
  #history: RolloutHistoryEntry[] = [];

  constructor(opts: RolloutControllerOptions) {
    this.#pool = opts.pool;
    this.#canary = opts.canary;
    this.#stableGroups = new Set(opts.stable);
    this.#config = opts.config;
    this.#clock = opts.clock;
    this.#onChange = opts.onChange;
    this.#onCheck = opts.onCheck;
    this.#onRestate = opts.onRestate;
    this.#reports = opts.reports;
    this.#random = opts.random;
    this.#leading = opts.leading ?? true;
    this.#epoch = opts.epoch ?? 0;
    this.#canaryWindow = new RequestWindow(opts.random);
    this.#stableWindow = new RequestWindow(opts.random);
    this.#windowStart = this.#clock.now();
    const r = opts.restored;
    if (r && r.pool === opts.pool && r.group === opts.canary) {
      this.#state = restoreState(r, opts.config);
      this.#lastCheck = r.lastCheck;
      this.#history = r.history.slice(-HISTORY_LIMIT);
    } else {
      this.#state = { name: 'pending', awaitingStart: opts.config.start === 'manual' };
    }
    // A restored progressing rollout keeps its schedule. After a reload (`carry`, the controller it replaces) the window
    // being judged and its due time go on: reloads more often than the interval must not postpone every check. After
    // a restart the window starts empty and its check is one interval away. The epoch stays the restored one: the
    // other replicas' reports of that window still count.
    const c = opts.carry;
    if (this.#state.name === 'progressing') {
      if (c !== undefined && c.epoch === this.#epoch) {
        this.#canaryWindow = c.canary;
        this.#stableWindow = c.stable;
        this.#windowStart = c.windowStart;
        for (const id of c.served) this.#served.add(id);
        for (const [id, out] of c.out) this.#out.set(id, out);
        this.#dueAt = Math.min(c.dueAt, this.#clock.now() + this.#config.intervalMs);
      } else {
        this.#clearWindows();
        this.#dueAt = this.#clock.now() + this.#config.intervalMs;
      }
      this.#schedule();
    }
  }

  /** What the controller that replaces this one on a reload takes over: the window being judged and its due time. */
  handOver(): RolloutCarry {
    return { canary: this.#canaryWindow, stable: this.#stableWindow, windowStart: this.#windowStart, dueAt: this.#dueAt, epoch: this.#epoch, served: new Set(this.#served), out: new Map(this.#out) };
  }

  /** HOT PATH: one finished request of a group of this pool; O(1), no allocation. ok=false for 5xx/gateway errors. */
  record(group: string, ok: boolean, latencyMs: number): void {
    if (this.#state.name !== 'progressing') return;
    if (group === this.#canary) this.#canaryWindow.record(ok, latencyMs);
    else if (this.#stableGroups.has(group)) this.#stableWindow.record(ok, latencyMs);
  }

  /**
   * The lead reports the canary group's backends (on every state or membership change). While progressing, one that is
   * EJECTED or MISMATCH, or that was READY in this rollout and is now UNREADY, LOADING or WARMING, is out of service:
   * the next check fails, whatever the traffic figures say (an ejected backend's errors stop reaching the analysis).
   * DRAINING is an operator's or discovery's choice, not a failure; a backend still loading when the rollout began has
   * not failed anything. Readiness follows: the rollout starts on the first READY backend, as with canaryReady(true).
   */
  canaryBackends(list: readonly CanaryBackend[]): void {
    this.#backends = list;
    if (this.#state.name === 'progressing') this.#observe(list);
    this.canaryReady(list.some((b) => b.state === 'READY'));
  }

  /** The lead says whether the canary group has at least one READY backend; an automatic rollout starts on the first true. */
  canaryReady(ready: boolean): void {
    this.#canaryReady = ready;
    const s = this.#state;
    if (ready && this.#leading && s.name === 'pending' && !s.awaitingStart) this.#begin('canary has a READY backend');
  }

  /**
   * Outlier detection ejected the canary group's last serving backend. A progressing rollout is rolled back at
   * once, as for a maxErrorRate breach: the new version failed on real traffic, and with nothing left to serve the
   * canary its window could never fill (checks would stay inconclusive until the ejection ends, then fail anyway).
   */
  canaryEjected(reason: string): boolean {
    this.#canaryReady = false;
    const s = this.#state;
    if (s.name !== 'progressing' || !this.#leading) return false;
    const why = `every canary backend ejected by outlier detection (${reason})`;
    this.#go({ name: 'rolled-back', step: s.step, reason: why }, why);
    return true;
  }

  /** Current weights, 0..100; the lead splits `stable` among the stable groups. */
  weights(): { canary: number; stable: number } {
    const canary = weightOf(this.#state);
    return { canary, stable: 100 - canary };
  }

  get state(): RolloutState {
    return this.#state;
  }

  get epoch(): number {
    return this.#epoch;
  }

  get leading(): boolean {
    return this.#leading;
  }

  // ---- shared decisions (coordination/) ----

  /**
   * This replica became (true) or stopped being (false) the one that decides. Taking over, a rollout continues where
   * it was: the window and the other replicas' reports for it are kept, and its check comes when it was due (at once
   * when that time has passed) — a short loss of the lead (an etcd blip) does not postpone it. A pending rollout whose
   * canary is READY starts.
   */
  setLeading(leading: boolean): void {
    if (leading === this.#leading) return;
    this.#leading = leading;
    this.#disarm();
    if (!leading || this.#stopped) return;
    const s = this.#state;
    if (s.name === 'progressing') this.#schedule();
    else if (s.name === 'pending' && !s.awaitingStart && this.#canaryReady) this.#begin('canary has a READY backend');
  }

  /**
   * Take the state another replica decided (the leader's, or an operator's on another replica). A new epoch starts a
   * fresh window here too; the same epoch keeps counting. No onChange: the caller applies weights and logs.
   */
  adopt(snapshot: RolloutSnapshot, epoch: number): void {
    this.#state = restoreState(snapshot, this.#config);
    this.#lastCheck = snapshot.lastCheck;
    this.#history = snapshot.history.slice(-HISTORY_LIMIT);
    if (epoch !== this.#epoch || this.#dueAt === 0) {
      // A new window: its check is one interval from now (the leader's started at about the same time).
      this.#epoch = epoch;
      this.#clearWindows();
      this.#dueAt = this.#clock.now() + this.#config.intervalMs;
    }
    this.#disarm();
    if (this.#state.name === 'progressing') this.#schedule();
  }

  /** This replica's traffic in the current window, for the leader (at most `max` latencies per side). */
  report(max: number): { epoch: number; canary: WindowReport; stable: WindowReport } | null {
    if (this.#state.name !== 'progressing') return null;
    return { epoch: this.#epoch, canary: this.#canaryWindow.report(max), stable: this.#stableWindow.report(max) };
  }

  // ---- operator actions: each returns whether it changed anything ----

  /** Begins a rollout from the first step (a manual one, or anew after rolled-back / promoted / paused). */
  start(): boolean {
    const s = this.#state;
    if (s.name === 'progressing') return false;
    if (s.name === 'pending' && !s.awaitingStart) return false;
    if (this.#canaryReady) {
      this.#begin('started by operator');
    } else {
      this.#go({ name: 'pending', awaitingStart: false }, 'started by operator; waiting for a READY canary backend');
    }
    return true;
  }

  /** Freezes the weight; no checks run while paused. */
  pause(): boolean {
    const s = this.#state;
    if (s.name === 'progressing') {
      this.#go({ name: 'paused', step: s.step, weight: s.weight, failedChecks: s.failedChecks, reason: 'paused by operator' }, 'paused by operator');
      return true;
    }
    if (s.name === 'pending') {
      this.#go({ name: 'paused', step: -1, weight: 0, failedChecks: 0, reason: 'paused by operator' }, 'paused by operator');
      return true;
    }
    return false;
  }

  /** Continues a paused rollout at its current weight (a pending manual one starts). */
  resume(): boolean {
    const s = this.#state;
    if (s.name === 'pending') return s.awaitingStart ? this.start() : false;
    if (s.name !== 'paused') return false;
    if (s.weight === 0) {
      // Nothing to judge at weight 0: continue from the first step, as soon as the canary can take traffic.
      if (this.#canaryReady) this.#go({ name: 'progressing', step: 0, weight: this.#firstStep(), failedChecks: s.failedChecks }, 'resumed by operator');
      else this.#go({ name: 'pending', awaitingStart: false }, 'resumed by operator; waiting for a READY canary backend');
      return true;
    }
    if (s.weight >= 100) {
      // No stable baseline is left to compare with at 100%: resuming there completes the rollout.
      this.#go({ name: 'promoted', reason: 'resumed at 100%' }, 'resumed at 100%');
      return true;
    }
    this.#go({ name: 'progressing', step: s.step, weight: s.weight, failedChecks: s.failedChecks }, 'resumed by operator');
    return true;
  }

  /** Jumps to 100%: the canary group carries all traffic, stable none. */
  promote(): boolean {
    if (this.#state.name === 'promoted') return false;
    this.#go({ name: 'promoted', reason: 'promoted by operator' }, 'promoted by operator');
    return true;
  }

  /** Rolls back at once: canary weight 0. */
  abort(reason = 'aborted by operator'): boolean {
    if (this.#state.name === 'rolled-back') return false;
    this.#go({ name: 'rolled-back', step: this.#step(), reason }, reason);
    return true;
  }

  /** Sets the canary weight by hand (0..100) and pauses the automatic steps; throws RangeError on a bad weight. */
  setWeight(w: number): boolean {
    if (!Number.isFinite(w) || w < 0 || w > 100) throw new RangeError(`weight must be within 0..100, got ${w}`);
    const s = this.#state;
    // Already held there by hand: nothing changes (the admin API answers 409, as for the other no-op actions).
    if (s.name === 'paused' && s.weight === w) return false;
    const failedChecks = s.name === 'progressing' || s.name === 'paused' ? s.failedChecks : 0;
    const reason = `weight set to ${w}% by operator`;
    this.#go({ name: 'paused', step: stepFor(this.#config.steps, w), weight: w, failedChecks, reason }, reason);
    return true;
  }

  // ---- views ----

  /** What GET /admin/rollouts shows for this rollout (state `pending` is shown as such). */
  view(): RolloutView {
    const { canary, stable } = this.weights();
    const s = this.#state;
    return {
      pool: this.#pool,
      group: this.#canary,
      state: s.name,
      weight: canary,
      stableWeight: stable,
      step: this.#step(),
      steps: [...this.#config.steps],
      failedChecks: s.name === 'progressing' || s.name === 'paused' ? s.failedChecks : 0,
      failureThreshold: this.#config.failureThreshold,
      canaryReady: this.#canaryReady,
      backendsOut: [...this.#out.values()],
      reason: this.#reason(),
      since: this.#history.at(-1)?.at ?? null,
      lastCheck: this.#lastCheck,
      history: [...this.#history],
    };
  }

  /** Plain JSON of the state, for reloads and the state file (restore with `restored`, validate with snapshotFromJSON). */
  snapshot(): RolloutSnapshot {
    return { version: 1, pool: this.#pool, group: this.#canary, state: this.#state, lastCheck: this.#lastCheck, history: [...this.#history] };
  }

  toJSON(): RolloutSnapshot {
    return this.snapshot();
  }

  /** Cancels the check timer for good (on reload or shutdown); state stays readable for snapshot(). */
  stop(): void {
    this.#stopped = true;
    this.#timer?.cancel();
    this.#timer = null;
  }

  // ---- internals ----

  #firstStep(): number {
    return this.#config.steps[0] ?? 100;
  }

  #step(): number {
    const s = this.#state;
    switch (s.name) {
      case 'pending':
        return -1;
      case 'progressing':
      case 'paused':
      case 'rolled-back':
        return s.step;
      case 'promoted':
        return this.#config.steps.length - 1;
      default: {
        const never: never = s;
        return never;
      }
    }
  }

  #reason(): string | null {
    const s = this.#state;
    switch (s.name) {
      case 'pending':
        return s.awaitingStart ? 'waiting for an operator start (start: manual)' : 'waiting for a READY canary backend';
      case 'progressing':
        return s.failedChecks > 0 && this.#lastCheck?.verdict === 'fail' ? this.#lastCheck.reason : null;
      case 'paused':
      case 'promoted':
      case 'rolled-back':
        return s.reason;
      default: {
        const never: never = s;
        return never;
      }
    }
  }

  #begin(reason: string): void {
    this.#served.clear();
    this.#go({ name: 'progressing', step: 0, weight: this.#firstStep(), failedChecks: 0 }, reason);
  }

  /** Every transition goes through here: history, timer, windows, onChange. */
  #go(next: RolloutState, reason: string): void {
    const prev = this.#state;
    const previousWeight = weightOf(prev);
    this.#state = next;
    if (next.name === 'progressing') this.#arm();
    else this.#disarm();
    const weight = weightOf(next);
    const step = this.#step();
    this.#history.push({ at: this.#wallIso(), from: prev.name, to: next.name, weight, step, reason, check: this.#lastCheck });
    if (this.#history.length > HISTORY_LIMIT) this.#history.splice(0, this.#history.length - HISTORY_LIMIT);
    this.#onChange({
      pool: this.#pool,
      group: this.#canary,
      from: prev.name,
      to: next.name,
      weight,
      stableWeight: 100 - weight,
      previousWeight,
      step,
      reason,
      check: this.#lastCheck,
    });
  }

  /** Starts a fresh window and schedules the next check one interval from now. */
  #arm(): void {
    this.#resetWindows();
    this.#dueAt = this.#clock.now() + this.#config.intervalMs;
    this.#schedule();
  }

  /** The check timer at #dueAt, if this controller decides and is not stopped. */
  #schedule(): void {
    this.#timer?.cancel();
    this.#timer = null;
    if (this.#stopped || !this.#leading || this.#state.name !== 'progressing') return;
    this.#timer = this.#clock.setTimer(Math.max(0, this.#dueAt - this.#clock.now()), this.#tick);
  }

  #disarm(): void {
    this.#timer?.cancel();
    this.#timer = null;
  }

  #resetWindows(): void {
    this.#epoch++;
    this.#clearWindows();
  }

  #clearWindows(): void {
    this.#canaryWindow.reset();
    this.#stableWindow.reset();
    this.#windowStart = this.#clock.now();
    // A backend still out when a window starts counts against that window too.
    this.#out.clear();
    if (this.#state.name === 'progressing') this.#observe(this.#backends);
  }

  /** `atCheck`: the check is about to run — a backend still held for re-verification now counts as out. */
  #observe(list: readonly CanaryBackend[], atCheck = false): void {
    for (const b of list) {
      if (b.state === 'READY') this.#served.add(b.id);
      else if (b.reverifying === true && !atCheck && (b.state === 'UNREADY' || b.state === 'LOADING' || b.state === 'WARMING')) continue;
      else if (!this.#out.has(b.id) && this.#isOut(b)) this.#out.set(b.id, { id: b.id, state: b.state, reason: b.reason, since: this.#wallIso() });
    }
  }

  #isOut(b: CanaryBackend): boolean {
    switch (b.state) {
      case 'EJECTED':
      case 'MISMATCH':
        return true;
      case 'UNREADY':
      case 'LOADING':
      case 'WARMING':
        return this.#served.has(b.id);
      case 'READY':
      case 'DRAINING':
        return false;
      default: {
        const never: never = b.state;
        return never;
      }
    }
  }

  #wallIso(): string {
    return new Date(this.#clock.wallNow()).toISOString();
  }

  readonly #tick = (): void => {
    this.#timer = null;
    const s = this.#state;
    if (s.name !== 'progressing' || this.#stopped) return;
    this.#observe(this.#backends, true);
    const remote = this.#reports?.(this.#epoch);
    const check = analyse(
      remote === undefined ? this.#canaryWindow.sample() : mergeReports([this.#canaryWindow.report(RESERVOIR_SIZE), ...remote.canary], this.#random),
      remote === undefined ? this.#stableWindow.sample() : mergeReports([this.#stableWindow.report(RESERVOIR_SIZE), ...remote.stable], this.#random),
      this.#config,
      this.#clock.now() - this.#windowStart,
      this.#wallIso(),
      [...this.#out.values()],
    );
    this.#lastCheck = check;
    this.#onCheck?.(check);
    switch (check.verdict) {
      case 'inconclusive':
        // Keep the window growing so a low-traffic canary reaches minRequests (and a bad one is still caught).
        this.#dueAt = this.#clock.now() + this.#config.intervalMs;
        this.#schedule();
        this.#onRestate?.();
        return;
      case 'pass':
        this.#advance(s);
        return;
      case 'fail': {
        const failedChecks = s.failedChecks + 1;
        if (check.failures.includes('error-rate')) {
          this.#go({ name: 'rolled-back', step: s.step, reason: check.reason ?? 'error rate' }, check.reason ?? 'error rate');
        } else if (failedChecks >= this.#config.failureThreshold) {
          const reason = `${failedChecks} failed checks (threshold ${this.#config.failureThreshold}): ${check.reason ?? ''}`;
          this.#go({ name: 'rolled-back', step: s.step, reason }, reason);
        } else {
          // Hold the weight and judge a fresh window; a failed check is not a transition, it shows in lastCheck.
          this.#state = { ...s, failedChecks };
          this.#arm();
          this.#onRestate?.();
        }
        return;
      }
      default: {
        const never: never = check.verdict;
        return never;
      }
    }
  };

  /** One step up; reaching 100, or passing the last step, is promotion. */
  #advance(s: Extract<RolloutState, { name: 'progressing' }>): void {
    const steps = this.#config.steps;
    const next = steps.findIndex((w) => w > s.weight);
    const nextWeight = next === -1 ? 100 : (steps[next] ?? 100);
    if (nextWeight >= 100) {
      this.#go({ name: 'promoted', reason: `all steps passed at ${s.weight}%` }, `all steps passed at ${s.weight}%`);
      return;
    }
    this.#go({ name: 'progressing', step: next, weight: nextWeight, failedChecks: s.failedChecks }, `check passed at ${s.weight}%`);
  }
}

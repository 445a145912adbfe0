// Drives one backend into and out of service: startup, readiness and liveness probes, model admission,
// warm-up, the startup deadline and pushed readiness, each reported to the backend as a state-machine event.
import type { Dispatcher } from 'undici';
import type { Backend } from '../backends/backend.js';
import type { Clock, Timer } from '../clock.js';
import type { UpstreamTlsConfig, WarmupConfig } from '../config/types.js';
import type { Logger } from '../observe/log.js';
import { PeriodicTask } from '../schedule/periodic-task.js';
import { checkAdmission } from './admission.js';
import { GrpcProbeClient } from './grpc/client.js';
import { defaultManagementOrigin } from './presets/index.js';
import { runProbe, type ProbeResult } from './prober.js';
import type { ResolvedHealth, ResolvedProbe } from './resolve.js';
import { runWarmup } from './warmup.js';

/** What probes, admission and warm-up count (observe/metrics.ts implements it). */
export interface HealthStats {
  admission(b: Backend, result: 'admitted' | 'mismatch' | 'error'): void;
  warmup(b: Backend, result: 'done' | 'failed'): void;
  /** A probe that failed on our side (EMFILE, ENOBUFS ...): counted as the balancer's fault, not the backend's. */
  localProbeError(b: Backend, code: string): void;
}

export interface ControllerDeps {
  clock: Clock;
  random: () => number;
  /** For probes and metadata: a fresh connection each time. */
  probeDispatcher: Dispatcher;
  log: Logger;
  stats: HealthStats;
  /** The pool's TLS settings, for the gRPC channel to https:// backends. */
  tls?: UpstreamTlsConfig | null;
}

/** Back-off after the n-th consecutive failed warm-up: 1 s, 2 s, 4 s ... at most 60 s. */
export function warmupBackoffMs(failures: number): number {
  return Math.min(60_000, 1000 * 2 ** Math.max(0, failures - 1));
}

export class HealthController {
  readonly #backend: Backend;
  readonly #health: ResolvedHealth;
  readonly #warmup: WarmupConfig | null;
  readonly #deps: ControllerDeps;
  readonly #management: string;
  readonly #startupLoop: PeriodicTask | null;
  readonly #readinessLoop: PeriodicTask;
  readonly #livenessLoop: PeriodicTask | null;
  #startupTimer: Timer | null = null;
  /** Ends a warm-up back-off with a readiness probe, so the retry does not wait for the next probe interval. */
  #backoffTimer: Timer | null = null;
  #stopped = false;
  /** Bumped by every push and re-verification signal: a readiness probe sent before answers for an older state of the server. */
  #epoch = 0;
  #admitting = false;
  #warming = false;
  /** The backend's one gRPC channel for gRPC probes and metadata (dialed at the first call, closed by stop()). */
  readonly #grpc: GrpcProbeClient;
  /** A run of local probe failures is logged once, at its start. */
  #localFailing = false;

  constructor(backend: Backend, health: ResolvedHealth, warmup: WarmupConfig | null, deps: ControllerDeps) {
    this.#backend = backend;
    this.#health = health;
    this.#warmup = warmup;
    this.#deps = deps;
    this.#management = defaultManagementOrigin(backend.origin, health.managementPort);
    this.#grpc = new GrpcProbeClient(backend.origin, deps.tls ?? null);
    const loopDeps = { clock: deps.clock, random: deps.random };
    this.#startupLoop = health.startup === null ? null : new PeriodicTask(health.startup.intervalMs, health.jitter, loopDeps, () => this.#startupTick(health.startup!));
    this.#readinessLoop = new PeriodicTask(health.readiness.intervalMs, health.jitter, loopDeps, () => this.#readinessTick());
    this.#livenessLoop = health.liveness === null ? null : new PeriodicTask(health.liveness.intervalMs, health.jitter, loopDeps, () => this.#livenessTick(health.liveness!));
  }

  start(): void {
    const b = this.#backend;
    if (!b.health.everServed && b.phase !== 'ready') {
      const ms = this.#health.startupTimeoutMs;
      this.#startupTimer = this.#deps.clock.setTimer(ms, () => this.#startupDeadline(ms));
    }
    if (this.#startupLoop !== null && !b.health.started) this.#startupLoop.start();
    else this.#startProbing();
    // A reload may hand over a backend in the middle of admission or warm-up: carry on from there.
    this.#advance();
  }

  stop(): void {
    this.#stopped = true;
    this.#startupTimer?.cancel();
    this.#backoffTimer?.cancel();
    this.#startupLoop?.stop();
    this.#readinessLoop.stop();
    this.#livenessLoop?.stop();
    this.#grpc.close();
  }

  /** The model server called back: its model has loaded (admission and warm-up still run). */
  pushReady(): void {
    this.#epoch++;
    this.#backend.set('push', { type: 'push-ready' }, 'pushed ready by the backend');
    this.#startupLoop?.stop();
    this.#startProbing();
    this.#advance();
  }

  /** The model server called back: it is unloading or reloading its model. */
  pushUnready(): void {
    this.#epoch++;
    this.#backend.set('push', { type: 'push-unready' }, 'pushed unready by the backend');
  }

  /** Probe readiness now rather than at the next interval (after an ejection ends, after a push). */
  probeNow(): void {
    this.#readinessLoop.now();
  }

  /**
   * Traffic says the process behind the address may have changed (refused or reset connection, every pooled
   * socket closed by the peer, a 503): take the backend out at once and verify it again — one readiness pass, then
   * admission re-reads the model. A probe already in flight answers for the old process and is discarded.
   */
  reverify(reason: string): void {
    const b = this.#backend;
    const before = b.state();
    b.set('signal', { type: 'reverify' }, `re-verifying the backend: ${reason}`);
    if (b.state() === before) return;
    this.#epoch++;
    this.#deps.log.warn({ backend: b.id, pool: b.pool, reason }, 'backend held for re-verification');
    this.probeNow();
  }

  #startProbing(): void {
    if (this.#stopped) return;
    this.#readinessLoop.start();
    this.#livenessLoop?.start();
  }

  async #startupTick(probe: ResolvedProbe): Promise<void> {
    const r = await this.#probe(probe);
    if (this.#stopped || !r.ok) return;
    this.#backend.set('probe', { type: 'startup-pass' }, `startup ${probe.path} passed`);
    this.#startupLoop?.stop();
    this.#startProbing();
  }

  async #readinessTick(): Promise<void> {
    const h = this.#health;
    const epoch = this.#epoch;
    let r = await this.#probe(h.readiness);
    let path = h.readiness.path;
    if (r.ok && h.modelReady !== null) {
      r = await this.#probe(h.modelReady);
      path = `${h.modelReady.base === 'management' ? 'management ' : ''}${h.modelReady.path}`;
    }
    // Our own failure (EMFILE ...): no verdict on the backend; the next tick asks again.
    if (this.#stopped || epoch !== this.#epoch || r.local !== null) return;
    const b = this.#backend;
    const wasReady = b.phase === 'ready';
    b.set('probe', r.ok ? { type: 'readiness-pass' } : { type: 'readiness-fail' }, r.ok ? `readiness ${path} passed` : `readiness ${path} failed: ${r.error}`);
    if (wasReady && h.model !== null) {
      // Is it still the process (and model) admitted? A failed probe holds it until verified; a passing one
      // re-reads the metadata as a backstop, without holding traffic.
      if (!r.ok) this.reverify(`readiness ${path} failed: ${r.error}`);
      // Awaited: the next readiness round is scheduled once this re-check has answered (rounds never overlap).
      else if (!this.#admitting) await this.#admit(true);
    }
    this.#advance(true);
  }

  async #livenessTick(probe: ResolvedProbe): Promise<void> {
    const r = await this.#probe(probe, false);
    if (this.#stopped || r.local !== null) return;
    const b = this.#backend;
    const wasLive = b.health.live;
    b.set('probe', r.ok ? { type: 'liveness-pass' } : { type: 'liveness-fail' }, r.ok ? `liveness ${probe.path} passed again` : `liveness ${probe.path} failed: ${r.error}`);
    if (wasLive && !b.health.live) {
      this.#deps.log.error(
        { backend: b.id, pool: b.pool, probe: probe.path, error: r.error },
        'liveness probe failing: backend taken out of rotation; infergate cannot restart the process, restart it yourself (it keeps being probed)',
      );
    }
  }

  /** Start what the backend's phase calls for: admission while admitting (and every interval while MISMATCH), warm-up while warming. */
  #advance(tick = false): void {
    if (this.#stopped) return;
    const phase = this.#backend.phase;
    // MISMATCH is re-checked by the readiness tick only: right after a verdict it would ask again at once, forever.
    if ((phase === 'admitting' || (phase === 'mismatch' && tick)) && !this.#admitting) void this.#admit();
    else if (phase === 'warming' && !this.#warming) void this.#warm();
  }

  /**
   * Read the model's metadata and judge it. `recheck`: the periodic backstop of a READY backend — a pass only
   * refreshes the record, another model is MISMATCH at once, an unreadable answer holds it for re-verification.
   */
  async #admit(recheck = false): Promise<void> {
    this.#admitting = true;
    const b = this.#backend;
    const h = this.#health;
    let deferred = false;
    try {
      const epoch = this.#epoch;
      const r = await checkAdmission(b.origin, h, Math.max(h.readiness.timeoutMs, 2000), { clock: this.#deps.clock, dispatcher: b.probeDispatcher ?? this.#deps.probeDispatcher, grpc: this.#grpc });
      if (this.#stopped) return;
      if (!r.ok && r.local !== undefined) {
        // Our own failure: no verdict on the model; the next readiness tick asks again (not at once, in a loop).
        deferred = true;
        this.#localFailure(`metadata of ${b.id}`, r.local, r.reason);
        return;
      }
      const found = r.facts === null ? null : { name: r.facts.name, version: r.facts.version, checksum: r.facts.checksum };
      const before = b.admission;
      b.admission = { at: this.#deps.clock.wallNow(), ok: r.ok, reason: r.ok ? null : r.reason, expected: h.model ?? { name: null, version: null, md5: null }, found, since: r.ok && before?.ok === true && sameFacts(before.found, found) ? before.since : this.#deps.clock.wallNow(), epoch };
      if (recheck) {
        // A signal since the call was sent: the answer is about the old process, and re-verification is under way.
        if (epoch !== this.#epoch || b.phase !== 'ready') return;
        if (r.ok) return;
        this.#deps.stats.admission(b, r.mismatches.length > 0 ? 'mismatch' : 'error');
        if (r.mismatches.length > 0) {
          b.set('admission', { type: 'mismatch' }, `periodic re-check: ${r.reason}`);
          this.#deps.log.warn({ backend: b.id, pool: b.pool, expected: h.model, found, admitted: before?.found ?? null, reason: r.reason }, 'backend replaced: another model answers at this address; taken out (MISMATCH)');
        } else this.reverify(`periodic re-check: ${r.reason}`);
        return;
      }
      const wasMismatch = b.phase === 'mismatch';
      const result = r.ok ? 'admitted' : r.mismatches.length > 0 ? 'mismatch' : 'error';
      this.#deps.stats.admission(b, result);
      if (r.ok) {
        b.set('admission', { type: 'admitted' }, h.model === null ? 'admitted' : `model admitted (${describeModel(found)})`);
      } else {
        b.set('admission', { type: 'mismatch' }, r.reason);
        if (!wasMismatch) this.#deps.log.warn({ backend: b.id, pool: b.pool, expected: h.model, found, reason: r.reason }, 'backend refused: model mismatch (re-checked every readiness interval)');
      }
    } finally {
      this.#admitting = false;
      // Whatever the phase is now (a signal may have arrived during a re-check), start what it calls for.
      if (!deferred) this.#advance();
    }
  }

  async #warm(): Promise<void> {
    const w = this.#warmup;
    const b = this.#backend;
    if (w === null) {
      b.set('warmup', { type: 'warmup-done' }, 'no warm-up configured');
      return;
    }
    this.#warming = true;
    try {
      const r = await runWarmup(b.origin, w, { clock: this.#deps.clock, dispatcher: b.dispatcher });
      if (this.#stopped) return;
      b.warmup = { at: this.#deps.clock.wallNow(), ok: r.ok, ms: r.ok ? Math.round(r.ms) : null, reason: r.ok ? null : r.reason };
      this.#deps.stats.warmup(b, r.ok ? 'done' : 'failed');
      if (r.ok) {
        b.set('warmup', { type: 'warmup-done' }, `warm-up done: ${w.requests} request(s) in ${Math.round(r.ms)} ms`);
      } else {
        b.set('warmup', { type: 'warmup-failed' }, `warm-up failed: ${r.reason}; retrying after ${warmupBackoffMs(b.health.warmupFailures + 1) / 1000} s`);
        this.#retryAfterBackoff();
      }
    } finally {
      this.#warming = false;
    }
  }

  /** Probe readiness the moment the back-off ends (a readiness pass before then is ignored by the state machine). */
  #retryAfterBackoff(): void {
    this.#backoffTimer?.cancel();
    const wait = Math.max(0, this.#backend.health.holdUntil - this.#deps.clock.now());
    this.#backoffTimer = this.#deps.clock.setTimer(wait, () => {
      this.#backoffTimer = null;
      this.probeNow();
    });
  }

  #startupDeadline(ms: number): void {
    this.#startupTimer = null;
    const b = this.#backend;
    if (this.#stopped || b.health.everServed || b.phase === 'ready') return;
    const last = b.lastProbe?.error ?? 'no probe answered';
    const reason = `model did not load within ${Math.round(ms / 1000)} s (last probe: ${last}); still probing`;
    this.#deps.log.error({ backend: b.id, pool: b.pool, startupTimeoutMs: ms, lastProbe: b.lastProbe }, reason);
    b.set('probe', { type: 'startup-timeout' }, reason);
  }

  /**
   * Probes of one backend never overlap, across roles too: each waits for the one before (every probe is
   * bounded by its own timeout), so a slow server never has a readiness and a liveness probe in flight at once.
   */
  #probe(probe: ResolvedProbe, record = true): Promise<ProbeResult> {
    const run = this.#lastProbe.then(() => this.#probeNow(probe, record));
    this.#lastProbe = run.catch(() => undefined);
    return run;
  }

  #lastProbe: Promise<unknown> = Promise.resolve();

  /** Counted every time, logged once per run of such failures. */
  #localFailure(what: string, code: string, error: string | null): void {
    const b = this.#backend;
    this.#deps.stats.localProbeError(b, code);
    if (this.#localFailing) return;
    this.#localFailing = true;
    this.#deps.log.error(
      { backend: b.id, pool: b.pool, probe: what, code, error },
      'probe failed on infergate\'s side (out of file descriptors, ports or buffers): the backend keeps its state; raise the fd limit (ulimit -n) or limit client connections',
    );
  }

  async #probeNow(probe: ResolvedProbe, record: boolean): Promise<ProbeResult> {
    const b = this.#backend;
    const r = await runProbe(b.origin, probe, this.#management, { clock: this.#deps.clock, random: this.#deps.random, dispatcher: b.probeDispatcher ?? this.#deps.probeDispatcher, grpc: this.#grpc });
    if (this.#stopped) return r;
    if (r.local !== null) {
      this.#localFailure(probe.path, r.local, r.error);
      return r;
    }
    if (this.#localFailing) {
      this.#localFailing = false;
      this.#deps.log.info({ backend: b.id, pool: b.pool, probe: probe.path }, 'probes reach the backend again after local failures');
    }
    (r.ok ? b.stats.probeOk : b.stats.probeFail).inc();
    if (record) b.lastProbe = { at: this.#deps.clock.wallNow(), ok: r.ok, status: r.status, ms: r.ms, error: r.error, role: probe.role, path: probe.path };
    return r;
  }
}

function sameFacts(a: { name: string | null; version: string | null; checksum: string | null } | null, b: { name: string | null; version: string | null; checksum: string | null } | null): boolean {
  return a !== null && b !== null && a.name === b.name && a.version === b.version && a.checksum === b.checksum;
}

function describeModel(found: { name: string | null; version: string | null; checksum: string | null } | null): string {
  if (found === null) return 'no metadata';
  return [found.name && `name ${found.name}`, found.version && `version ${found.version}`, found.checksum && `checksum ${found.checksum}`].filter(Boolean).join(', ') || 'no metadata';
}

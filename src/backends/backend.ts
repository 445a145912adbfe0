// One backend: its upstream connection pool, the flag each health source owns, and its live counters.
import { Pool as UndiciPool, type Agent } from 'undici';
import type { Candidate } from '../balancer/balancer.js';
import type { LoadAwareWeights } from '../balancer/load-aware.js';
import { PeakEwma } from '../balancer/ewma.js';
import type { BackendConfig, PoolConfig } from '../config/types.js';
import type { BackendStats } from '../observe/metrics.js';
import { upstreamSlots } from './capacity.js';
import { rampFactor } from './slow-start.js';
import { H2Dispatcher, type UpstreamDispatcher } from './h2-dispatcher.js';
import { connectOptions, needsOwnProbeAgent, probeAgent, tlsOptions } from './upstream.js';
import type { OutlierHost } from '../outlier/types.js';
import type { ServerLoad } from '../signals/types.js';
import { initialHealth, step, visibleState, type BackendState, type ChangeSource, type Health, type HealthEvent, type HealthSource, type Phase, type Policy, type SourceEvents } from './state.js';

export interface ProbeRecord {
  /** Wall-clock ms. */
  at: number;
  ok: boolean;
  status: number | null;
  ms: number;
  error: string | null;
  /** Which probe: startup, readiness, model-ready (liveness results are not recorded here). */
  role: string;
  path: string;
}

/** The last model admission verdict, for /admin/backends. */
export interface AdmissionRecord {
  at: number;
  ok: boolean;
  reason: string | null;
  expected: { name: string | null; version: string | null; md5: string | null };
  found: { name: string | null; version: string | null; checksum: string | null } | null;
  /** Wall-clock ms since when these facts have been admitted without a break (re-checks that agree keep it). */
  since: number;
  /**
   * The connection epoch the verdict is about: bumped by every signal that the process behind the address may have
   * changed (refused or reset connection, a pooled connection closed by the peer, a 503, a failed probe, a push).
   */
  epoch: number;
}

export interface WarmupRecord {
  at: number;
  ok: boolean;
  ms: number | null;
  reason: string | null;
}

export interface BackendDeps {
  stats: BackendStats;
  now: () => number;
  /** Every visible state change (the cluster that builds the backend publishes it). */
  onChange: (c: StateChange) => void;
  /** How health events move this backend (thresholds, admission and warm-up configured). */
  policy: Policy;
  hasStartupProbe: boolean;
}

export type { BackendState, HealthEvent, HealthSource, Phase };

export interface StateChange {
  backend: Backend;
  source: ChangeSource;
  from: BackendState;
  to: BackendState;
  reason: string;
}

export class Backend implements Candidate, OutlierHost {
  readonly id: string;
  readonly pool: string;
  readonly group: string;
  readonly url: URL;
  readonly origin: string;
  weight: number;
  /** Requests in flight (WebSocket tunnels included) before new ones wait in the queue; 0 = no limit of its own. */
  readonly maxConcurrent: number;
  /**
   * Requests the connection pool carries at once (capacity.ts): proxied requests beyond it wait in the pool's queue,
   * never unseen inside undici. Tunnels have sockets of their own and do not count against it.
   */
  readonly slots: number;
  /** WebSocket tunnels open now (counted in `inflight` too). */
  tunnels = 0;
  /** The request path: undici's Pool for HTTP/1.1, node:http2 for HTTP/2 (h2-dispatcher.ts says why). */
  readonly dispatcher: UpstreamDispatcher;
  /** Probes and metadata reads when the app's shared probe agent cannot reach this backend (HTTP/2, TLS settings); else null. */
  readonly probeDispatcher: Agent | null;
  readonly stats: BackendStats;
  inflight = 0;
  requests = 0;
  errors = 0;
  lastProbe: ProbeRecord | null = null;
  admission: AdmissionRecord | null = null;
  warmup: WarmupRecord | null = null;
  /** Monotonic ms of the last state change and why. */
  stateSince: number;
  stateReason = 'waiting for the first passing readiness check';
  readonly #ewma = new PeakEwma();
  #health: Health;
  #state: BackendState;
  readonly #policy: Policy;
  readonly #slowStartMs: number;
  /** Monotonic ms until which slow start scales the weight; 0 when not ramping. */
  #rampUntil = 0;
  #readySince = 0;
  readonly #onChange: (change: StateChange) => void;
  readonly #now: () => number;
  /** The last load the server reported (signals/scraper.ts, or the owner's view in a worker); undefined until then. */
  #serverLoad: ServerLoad | undefined;
  readonly #staleAfterMs: number;
  /** The pool's load-aware weights when it balances load-aware (the score gauges), else null. */
  readonly loadWeights: LoadAwareWeights | null;
  /** Its pool scrapes load signals (signals/scraper.ts). */
  readonly scrapesLoad: boolean;

  constructor(cfg: BackendConfig, pool: PoolConfig, group: string, deps: BackendDeps) {
    this.id = cfg.id;
    this.pool = pool.name;
    this.group = group;
    this.url = cfg.url;
    this.origin = cfg.origin;
    this.weight = cfg.weight;
    this.maxConcurrent = cfg.maxConcurrent;
    this.slots = upstreamSlots(pool.upstream, pool.protocol);
    this.stats = deps.stats;
    this.#now = deps.now;
    this.#onChange = deps.onChange;
    this.#policy = deps.policy;
    this.#slowStartMs = pool.slowStartMs;
    this.#staleAfterMs = pool.load.staleAfterMs;
    this.loadWeights = pool.balance === 'load-aware' ? pool.load.picker.weights : null;
    this.scrapesLoad = pool.load.scrape !== null;
    this.#health = initialHealth(deps.hasStartupProbe);
    this.#state = visibleState(this.#health);
    this.stateSince = deps.now();
    this.dispatcher = pool.protocol === 'h2' ? new H2Dispatcher(cfg.origin, { tls: tlsOptions(pool.tls), connectTimeoutMs: pool.timeouts.connectMs }) : new UndiciPool(cfg.origin, {
      connections: pool.upstream.connections,
      pipelining: pool.upstream.pipelining,
      keepAliveTimeout: pool.upstream.keepAliveMs,
      keepAliveMaxTimeout: pool.upstream.keepAliveMs,
      connectTimeout: pool.timeouts.connectMs,
      headersTimeout: pool.timeouts.firstByteMs,
      // The response body's waits (first byte or event, then gaps) are timed by the proxy itself (proxy/forward.ts):
      // undici's one bodyTimeout cannot tell an LLM's long wait for its first token from a stall mid-stream.
      bodyTimeout: 0,
      ...connectOptions(pool),
    });
    this.probeDispatcher = needsOwnProbeAgent(pool) ? probeAgent(pool) : null;
  }

  state(): BackendState {
    return this.#state;
  }

  get phase(): Phase {
    return this.#health.phase;
  }

  get health(): Health {
    return this.#health;
  }

  /** Only READY backends take new requests. */
  routable(): boolean {
    return this.#state === 'READY';
  }

  /** READY, below its maxConcurrent and with a free connection slot: may take one more request now. */
  acceptsRequest(): boolean {
    return this.#state === 'READY' && (this.maxConcurrent === 0 || this.inflight < this.maxConcurrent) && this.inflight - this.tunnels < this.slots;
  }

  /** For the outlier detector: READY and not ejected. */
  isServing(): boolean {
    return this.#state === 'READY';
  }

  /** The outlier source's flag: the one place an ejection is stored. */
  isEjected(): boolean {
    return this.#health.ejected;
  }

  eject(reason: string): void {
    this.set('outlier', { type: 'eject' }, reason);
  }

  uneject(reason: string): void {
    this.set('outlier', { type: 'uneject' }, reason);
  }

  /** Weight scaled by slow start, from the moment the backend became READY (not from discovery). */
  effectiveWeight(): number {
    if (this.#rampUntil === 0) return this.weight;
    const now = this.#now();
    if (now >= this.#rampUntil) {
      this.#rampUntil = 0;
      return this.weight;
    }
    return this.weight * rampFactor(now - this.#readySince, this.#slowStartMs);
  }

  latencyScore(): number {
    return this.#ewma.value(this.#now());
  }

  observeLatency(ms: number): void {
    this.#ewma.observe(ms, this.#now());
  }

  observeFailure(): void {
    this.#ewma.observeFailure(this.#now());
  }

  /** The server's own load when its last scrape is younger than the pool's load.staleAfter; else undefined. */
  serverLoad(): ServerLoad | undefined {
    const l = this.#serverLoad;
    return l !== undefined && this.#now() - l.at <= this.#staleAfterMs ? l : undefined;
  }

  /** The last scrape whatever its age (admin API, metrics, the routing view); undefined when none succeeded yet. */
  lastServerLoad(): ServerLoad | undefined {
    return this.#serverLoad;
  }

  /** ms since the last good scrape, on this backend's clock; undefined when none succeeded yet. */
  serverLoadAgeMs(): number | undefined {
    return this.#serverLoad === undefined ? undefined : Math.max(0, this.#now() - this.#serverLoad.at);
  }

  /** In a worker: the owner's last scrape of this backend, `ageMs` old (workers/view.ts). */
  mirrorServerLoad(load: Omit<ServerLoad, 'at'> & { ageMs: number }): void {
    const { ageMs, ...values } = load;
    this.#serverLoad = { ...values, at: this.#now() - ageMs };
  }

  /** The staleness limit of its pool's load signals (load.staleAfter). */
  get loadStaleAfterMs(): number {
    return this.#staleAfterMs;
  }

  /** A scrape succeeded (`at` on this process's clock); numbered here, so that readers can tell scrapes apart. */
  setServerLoad(load: ServerLoad): void {
    this.#serverLoad = { ...load, seq: (this.#serverLoad?.seq ?? 0) + 1 };
  }

  /**
   * A health source writes its own flag: the event goes through the state machine, and a visible change is
   * reported once, with its source and reason. The types let each source apply only its own events.
   */
  set<S extends HealthSource>(source: S, event: SourceEvents[S], reason: string): void {
    const now = this.#now();
    const next = step(this.#health, event, this.#policy, now);
    if (next === this.#health) return;
    this.#health = next;
    const to = visibleState(next);
    if (to === this.#state) return;
    const from = this.#state;
    this.#state = to;
    this.stateSince = now;
    this.stateReason = reason;
    if (to === 'READY' && from !== 'EJECTED' && from !== 'DRAINING') {
      this.#readySince = now;
      this.#rampUntil = this.#slowStartMs > 0 ? now + this.#slowStartMs : 0;
    }
    this.#onChange({ backend: this, source, from, to, reason });
  }

  get draining(): boolean {
    return this.#health.draining;
  }

  /** What a worker needs to mirror this backend (workers/view.ts): its health record, and slow start as time left. */
  mirrorState(): { health: Health; reason: string; readyForMs: number } {
    return { health: this.#health, reason: this.stateReason, readyForMs: this.#readySince > 0 ? this.#now() - this.#readySince : -1 };
  }

  /**
   * A worker process takes the owner's verdict as it is (workers/view.ts): the owner runs the probes, admission,
   * warm-up and outlier detection; this process only routes. A visible change is reported as any other.
   */
  mirror(health: Health, reason: string, readyForMs: number): void {
    const now = this.#now();
    this.#health = health;
    // Slow start in step with the owner's clock: the ramp is measured from when the owner saw it become READY.
    if (readyForMs >= 0) {
      this.#readySince = now - readyForMs;
      this.#rampUntil = this.#slowStartMs > 0 && readyForMs < this.#slowStartMs ? this.#readySince + this.#slowStartMs : 0;
    }
    const to = visibleState(health);
    if (to === this.#state) return;
    const from = this.#state;
    this.#state = to;
    this.stateSince = now;
    this.stateReason = reason;
    this.#onChange({ backend: this, source: 'owner', from, to, reason });
  }

  /** Keep health knowledge across a config reload: the new record takes over the old one's flags. */
  adoptHealth(old: Backend): void {
    this.#health = old.#health;
    this.#state = old.#state;
    this.#readySince = old.#readySince;
    this.#rampUntil = this.#slowStartMs > 0 && old.#readySince > 0 ? old.#readySince + this.#slowStartMs : 0;
    this.stateSince = old.stateSince;
    this.stateReason = old.stateReason;
    this.lastProbe = old.lastProbe;
    this.admission = old.admission;
    this.warmup = old.warmup;
    this.requests = old.requests;
    this.errors = old.errors;
    this.#serverLoad = old.#serverLoad;
  }

  /** Close the connection pool once its in-flight requests finish (reload). */
  async close(): Promise<void> {
    await Promise.all([this.dispatcher.close().catch(() => this.dispatcher.destroy()), this.probeDispatcher?.close().catch(() => undefined)]);
  }

  /** Close the connection pool now, aborting whatever is in flight (end of shutdown). */
  async destroy(): Promise<void> {
    await Promise.all([this.dispatcher.destroy().catch(() => undefined), this.probeDispatcher?.destroy().catch(() => undefined)]);
  }
}

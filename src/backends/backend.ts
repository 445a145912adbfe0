// One backend: its upstream connection pool, the flag each health source owns, and its live counters.
import { Pool as UndiciPool } from 'undici';
import type { Candidate } from '../balancer/balancer.js';
import { PeakEwma } from '../balancer/ewma.js';
import type { BackendConfig, PoolConfig } from '../config/types.js';
import type { BackendStats } from '../observe/metrics.js';
import { deriveState, initialProbeView, probeStep, type BackendState, type ProbeEvent, type ProbeView } from './state.js';

export interface ProbeRecord {
  /** Wall-clock ms. */
  at: number;
  ok: boolean;
  status: number | null;
  ms: number;
  error: string | null;
}

export interface StateChange {
  backend: Backend;
  from: BackendState;
  to: BackendState;
  reason: string;
}

export class Backend implements Candidate {
  readonly id: string;
  readonly pool: string;
  readonly group: string;
  readonly url: URL;
  readonly origin: string;
  weight: number;
  readonly dispatcher: UndiciPool;
  readonly stats: BackendStats;
  inflight = 0;
  requests = 0;
  errors = 0;
  lastProbe: ProbeRecord | null = null;
  /** Monotonic ms of the last state change and why. */
  stateSince: number;
  stateReason = 'waiting for the first passing readiness check';
  readonly #ewma = new PeakEwma();
  #probe: ProbeView = initialProbeView;
  #draining = false;
  #state: BackendState = 'LOADING';
  #onChange: (change: StateChange) => void;
  readonly #now: () => number;

  constructor(cfg: BackendConfig, pool: PoolConfig, group: string, deps: { stats: BackendStats; now: () => number; onChange: (c: StateChange) => void }) {
    this.id = cfg.id;
    this.pool = pool.name;
    this.group = group;
    this.url = cfg.url;
    this.origin = cfg.origin;
    this.weight = cfg.weight;
    this.stats = deps.stats;
    this.#now = deps.now;
    this.#onChange = deps.onChange;
    this.stateSince = deps.now();
    this.dispatcher = new UndiciPool(cfg.origin, {
      connections: pool.upstream.connections,
      pipelining: pool.upstream.pipelining,
      keepAliveTimeout: pool.upstream.keepAliveMs,
      keepAliveMaxTimeout: pool.upstream.keepAliveMs,
      connectTimeout: pool.timeouts.connectMs,
      headersTimeout: pool.timeouts.firstByteMs,
      bodyTimeout: pool.timeouts.idleMs,
    });
  }

  state(): BackendState {
    return this.#state;
  }

  /** Only READY backends take new requests. */
  routable(): boolean {
    return this.#state === 'READY';
  }

  effectiveWeight(): number {
    return this.weight;
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

  /** Report a readiness probe result; thresholds come from the pool's health config. */
  observeProbe(event: ProbeEvent, thresholds: { healthyThreshold: number; unhealthyThreshold: number }, reason: string): void {
    const step = probeStep(this.#probe, event, thresholds);
    this.#probe = step.next;
    if (step.flipped) this.#refresh(reason);
  }

  setDraining(draining: boolean, reason: string): void {
    if (this.#draining === draining) return;
    this.#draining = draining;
    this.#refresh(reason);
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** Keep health knowledge across a config reload: the new record takes over the old one's flags. */
  adoptHealth(old: Backend): void {
    this.#probe = old.#probe;
    this.#state = old.#state;
    this.stateSince = old.stateSince;
    this.stateReason = old.stateReason;
    this.lastProbe = old.lastProbe;
    this.requests = old.requests;
    this.errors = old.errors;
  }

  #refresh(reason: string): void {
    const next = deriveState({ probe: this.#probe.state, draining: this.#draining });
    if (next === this.#state) return;
    const from = this.#state;
    this.#state = next;
    this.stateSince = this.#now();
    this.stateReason = reason;
    this.#onChange({ backend: this, from, to: next, reason });
  }

  async close(): Promise<void> {
    await this.dispatcher.close().catch(() => this.dispatcher.destroy());
  }
}

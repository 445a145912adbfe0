// Prometheus metrics on an own registry (never the global one). Modules see only the narrow stats interface
// they declare (ProxyStats, HealthStats, RolloutStats, ...); per-request children are bound once per backend.
import type { CoordinationStats } from '../coordination/etcd.js';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BackendState } from '../backends/state.js';
import type { ClusterEvent } from '../cluster/events.js';
import type { HealthStats } from '../health/controller.js';
import type { ListenerStats } from '../listen/listener.js';
import type { ProxyStats } from '../proxy/accounting.js';
import type { WebSocketStats } from '../proxy/websocket.js';
import type { RolloutStats } from '../rollout/manager.js';
import { scoreCandidates, type LoadAwareWeights } from '../balancer/load-aware.js';
import type { Candidate } from '../balancer/balancer.js';
import type { ScrapeFailure } from '../signals/scrape.js';
import type { LoadStats } from '../signals/scraper.js';
import type { ServerLoad } from '../signals/types.js';
import { BatchedCounters, BatchedHistograms } from './batching.js';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const STATES: readonly BackendState[] = ['LOADING', 'WARMING', 'READY', 'UNREADY', 'EJECTED', 'MISMATCH', 'DRAINING'];
const CODE_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

/** A backend as metrics see it at scrape time. */
export interface BackendGaugeSource {
  readonly id: string;
  readonly pool: string;
  readonly group: string;
  readonly inflight: number;
  state(): BackendState;
  /** The weight the balancer uses now (slow start scales it). */
  effectiveWeight(): number;
  /** Load signals (signals/), on backends that have them: the last scrape whatever its age, and its pool's settings. */
  lastServerLoad?(): ServerLoad | undefined;
  serverLoadAgeMs?(): number | undefined;
  readonly loadStaleAfterMs?: number;
  /** Set when the pool balances load-aware: the score gauge is computed with these weights. */
  readonly loadWeights?: LoadAwareWeights | null;
  readonly scrapesLoad?: boolean;
}

/** Server-sent event streams open now, one cell per pool and group (a plain number: no prom-client call per stream). */
export interface StreamCell {
  open: number;
}

/** The label children of one backend, bound once when the backend is created. */
export interface BackendStats {
  /** Index by Math.floor(status / 100) - 1. */
  readonly requests: readonly Counter.Internal[];
  readonly upstreamSeconds: Histogram.Internal<string>;
  /** By pool, group and route (the child of a route bound on its first request, then kept). */
  readonly requestSeconds: (route: string) => Histogram.Internal<string>;
  readonly bytesIn: Counter.Internal;
  readonly bytesOut: Counter.Internal;
  /** Request received -> first response byte to the client. */
  readonly firstByteSeconds: Histogram.Internal<string>;
  /** Request received -> first complete server-sent event to the client. */
  readonly sseFirstEventSeconds: Histogram.Internal<string>;
  /** Between consecutive server-sent events of one stream. */
  readonly sseEventGapSeconds: Histogram.Internal<string>;
  readonly streams: StreamCell;
  readonly probeOk: Counter.Internal;
  readonly probeFail: Counter.Internal;
}

export interface PoolStats {
  readonly requestSeconds: (route: string) => Histogram.Internal<string>;
  /** Requests answered without a backend (503 no ready backend, 413, ...), by status class. */
  readonly requestsNoBackend: readonly Counter.Internal[];
  readonly bytesIn: Counter.Internal;
  readonly bytesOut: Counter.Internal;
  /** What prefix affinity did for a request (affinity/prefix-affinity.ts AffinityOutcome), counted once per request. */
  prefixAffinity(outcome: string): void;
}

export class Metrics {
  readonly registry = new Registry();
  readonly requests: Counter<'pool' | 'group' | 'backend' | 'code'>;
  readonly requestDuration: Histogram<'pool' | 'group' | 'route'>;
  readonly firstByte: Histogram<'pool' | 'group'>;
  readonly sseFirstEvent: Histogram<'pool' | 'group'>;
  readonly sseEventGap: Histogram<'pool' | 'group'>;
  readonly requestBytes: Counter<'pool' | 'group'>;
  readonly responseBytes: Counter<'pool' | 'group'>;
  readonly backendErrors: Counter<'pool' | 'group' | 'backend' | 'kind'>;
  readonly upstreamDuration: Histogram<'pool' | 'group' | 'backend'>;
  readonly healthChecks: Counter<'pool' | 'group' | 'backend' | 'result'>;
  readonly probeLocalErrors: Counter<'pool' | 'group' | 'backend' | 'code'>;
  readonly transitions: Counter<'pool' | 'group' | 'backend' | 'from' | 'to'>;
  readonly retries: Counter<'pool' | 'reason'>;
  readonly retryBudgetExhausted: Counter<'pool'>;
  readonly errors: Counter<'pool' | 'kind'>;
  readonly responsesCut: Counter<'pool' | 'group' | 'kind'>;
  readonly bodyBuffered: Gauge<'pool'>;
  readonly noRoute: Counter;
  readonly rejected: Counter<'reason'>;
  readonly websocketUpgrades: Counter<'pool' | 'result'>;
  readonly websocketOpen: Gauge;
  readonly configReloads: Counter<'result'>;
  readonly configLastReloadSuccess: Gauge;
  readonly configLastReloadSeconds: Gauge;
  readonly queueLength: Gauge<'pool'>;
  readonly queueWait: Histogram<'pool'>;
  readonly prefixAffinity: Counter<'pool' | 'result'>;
  readonly overloadShed: Counter<'pool' | 'priority'>;
  readonly overloadHeld: Counter<'pool'>;
  readonly overloadWait: Histogram<'pool'>;
  readonly admissions: Counter<'pool' | 'group' | 'backend' | 'result'>;
  readonly warmups: Counter<'pool' | 'group' | 'backend' | 'result'>;
  readonly rolloutWeight: Gauge<'pool' | 'group'>;
  readonly rolloutState: Gauge<'pool' | 'group' | 'state'>;
  readonly rolloutTransitions: Counter<'pool' | 'group' | 'from' | 'to'>;
  readonly rolloutChecks: Counter<'pool' | 'group' | 'verdict'>;
  readonly groupFallbacks: Counter<'pool' | 'group'>;
  readonly ejections: Counter<'pool' | 'group' | 'backend' | 'detector'>;
  readonly ejectionsSkipped: Counter<'pool' | 'detector'>;
  readonly discoveryErrors: Counter<'pool' | 'group'>;
  readonly loadScrapes: Counter<'pool' | 'group' | 'backend' | 'result'>;
  /** Where the backend gauges read from at scrape time (the configuration in force). */
  readonly #backends: () => Iterable<BackendGaugeSource>;
  /** Per-request children add up locally and are folded into prom-client at scrape (collect) time. */
  readonly #requestCounters = new BatchedCounters();
  readonly #upstreamHistograms = new BatchedHistograms(LATENCY_BUCKETS);
  readonly #requestHistograms = new BatchedHistograms(LATENCY_BUCKETS);
  readonly #firstByteHistograms = new BatchedHistograms(LATENCY_BUCKETS);
  readonly #sseFirstEventHistograms = new BatchedHistograms(LATENCY_BUCKETS);
  readonly #sseGapHistograms = new BatchedHistograms(LATENCY_BUCKETS);
  readonly #requestByteCounters = new BatchedCounters();
  readonly #responseByteCounters = new BatchedCounters();
  readonly #streamCells = new Map<string, { readonly labels: { pool: string; group: string }; readonly cell: StreamCell }>();

  constructor(version: string, opts: {
    defaultMetrics?: boolean;
    backends?: () => Iterable<BackendGaugeSource>;
    /** Client connections open on the proxy listener now (read at scrape time). */
    clientConnections?: () => Promise<number>;
  } = {}) {
    this.#backends = opts.backends ?? (() => []);
    // Registered up front like every other family (dashboards and alert rules see them before a listener exists).
    this.#listenerStats = this.#createListenerStats();
    const r = this.registry;
    // Unprefixed (process_cpu_seconds_total, nodejs_heap_size_used_bytes, ...): the names stock dashboards query.
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: r });
    new Gauge({ name: 'infergate_build_info', help: 'Build information.', labelNames: ['version', 'node'], registers: [r] })
      .set({ version, node: process.versions.node }, 1);
    const requestCounters = this.#requestCounters;
    const upstreamHistograms = this.#upstreamHistograms;
    const requestHistograms = this.#requestHistograms;
    this.requests = new Counter({ name: 'infergate_requests_total', help: 'Requests answered, by pool, group, backend and status class.', labelNames: ['pool', 'group', 'backend', 'code'], registers: [r], collect: () => requestCounters.flush() });
    this.requestDuration = new Histogram({ name: 'infergate_request_duration_seconds', help: 'Time from request received to response finished, per pool, group and route (group empty when no backend response was forwarded; route empty for the implicit catch-all of a single pool).', labelNames: ['pool', 'group', 'route'], buckets: LATENCY_BUCKETS, registers: [r], collect() { requestHistograms.flush(this); } });
    const firstByte = this.#firstByteHistograms;
    const sseFirst = this.#sseFirstEventHistograms;
    const sseGap = this.#sseGapHistograms;
    const requestBytes = this.#requestByteCounters;
    const responseBytes = this.#responseByteCounters;
    this.firstByte = new Histogram({ name: 'infergate_time_to_first_byte_seconds', help: 'Time from request received to the first response byte sent to the client, per pool and group.', labelNames: ['pool', 'group'], buckets: LATENCY_BUCKETS, registers: [r], collect() { firstByte.flush(this); } });
    this.sseFirstEvent = new Histogram({ name: 'infergate_sse_time_to_first_event_seconds', help: 'Time from request received to the first complete server-sent event sent to the client (text/event-stream responses).', labelNames: ['pool', 'group'], buckets: LATENCY_BUCKETS, registers: [r], collect() { sseFirst.flush(this); } });
    this.sseEventGap = new Histogram({ name: 'infergate_sse_event_gap_seconds', help: 'Time between consecutive server-sent events of one stream (events in one chunk count 0).', labelNames: ['pool', 'group'], buckets: LATENCY_BUCKETS, registers: [r], collect() { sseGap.flush(this); } });
    this.requestBytes = new Counter({ name: 'infergate_request_bytes_total', help: 'Request body bytes sent upstream (the last attempt of each request).', labelNames: ['pool', 'group'], registers: [r], collect: () => requestBytes.flush() });
    this.responseBytes = new Counter({ name: 'infergate_response_bytes_total', help: 'Response body bytes sent to clients.', labelNames: ['pool', 'group'], registers: [r], collect: () => responseBytes.flush() });
    this.backendErrors = new Counter({ name: 'infergate_backend_errors_total', help: 'Failed upstream attempts (retried ones too) by backend and kind (the failure code).', labelNames: ['pool', 'group', 'backend', 'kind'], registers: [r] });
    const streamCells = this.#streamCells;
    new Gauge({
      name: 'infergate_streams_open', help: 'Server-sent event streams (text/event-stream responses) being forwarded now.', labelNames: ['pool', 'group'], registers: [r],
      collect() {
        for (const { labels, cell } of streamCells.values()) this.set(labels, cell.open);
      },
    });
    const clientConnections = opts.clientConnections;
    new Gauge({
      name: 'infergate_client_connections', help: 'Client connections open on the proxy listener.', registers: [r],
      async collect() {
        this.set(clientConnections === undefined ? 0 : await clientConnections());
      },
    });
    this.upstreamDuration = new Histogram({ name: 'infergate_upstream_duration_seconds', help: 'Time from request sent upstream to response headers, per backend.', labelNames: ['pool', 'group', 'backend'], buckets: LATENCY_BUCKETS, registers: [r], collect() { upstreamHistograms.flush(this); } });
    this.healthChecks = new Counter({ name: 'infergate_health_checks_total', help: 'Active health checks by result.', labelNames: ['pool', 'group', 'backend', 'result'], registers: [r] });
    this.probeLocalErrors = new Counter({ name: 'infergate_probe_local_errors_total', help: 'Probes that failed on infergate\'s own side (EMFILE, ENFILE, ENOBUFS, EADDRNOTAVAIL ...), by errno code: not counted against the backend, whose state is kept.', labelNames: ['pool', 'group', 'backend', 'code'], registers: [r] });
    this.transitions = new Counter({ name: 'infergate_backend_state_transitions_total', help: 'Backend state transitions.', labelNames: ['pool', 'group', 'backend', 'from', 'to'], registers: [r] });
    this.retries = new Counter({ name: 'infergate_retries_total', help: 'Requests retried, by reason.', labelNames: ['pool', 'reason'], registers: [r] });
    this.retryBudgetExhausted = new Counter({ name: 'infergate_retry_budget_exhausted_total', help: 'Retries refused because the retry budget was spent.', labelNames: ['pool'], registers: [r] });
    this.errors = new Counter({ name: 'infergate_errors_total', help: 'Failed requests by kind (the code of the JSON error body).', labelNames: ['pool', 'kind'], registers: [r] });
    this.responsesCut = new Counter({ name: 'infergate_responses_cut_total', help: 'Responses whose head (and maybe part of the body) had reached the client when a failure cut them — an event stream stalled past timeouts.idle, a reset — by failure code. Also counted in infergate_errors_total.', labelNames: ['pool', 'group', 'kind'], registers: [r] });
    this.bodyBuffered = new Gauge({ name: 'infergate_request_body_buffered_bytes', help: 'Bytes of request bodies held in memory now (read whole before a backend is picked), per pool; bounded by requestBody.bufferTotal.', labelNames: ['pool'], registers: [r] });
    this.noRoute = new Counter({ name: 'infergate_no_route_total', help: 'Requests that matched no route (404).', registers: [r] });
    this.rejected = new Counter({ name: 'infergate_rejected_requests_total', help: 'Malformed requests rejected before routing, by reason.', labelNames: ['reason'], registers: [r] });
    this.websocketUpgrades = new Counter({ name: 'infergate_websocket_upgrades_total', help: 'WebSocket upgrade attempts by result.', labelNames: ['pool', 'result'], registers: [r] });
    this.websocketOpen = new Gauge({ name: 'infergate_websocket_connections', help: 'WebSocket connections open now.', registers: [r] });
    this.configReloads = new Counter({ name: 'infergate_config_reloads_total', help: 'Configuration reloads by result.', labelNames: ['result'], registers: [r] });
    this.configLastReloadSuccess = new Gauge({ name: 'infergate_config_last_reload_success', help: '1 when the last configuration load succeeded.', registers: [r] });
    this.configLastReloadSeconds = new Gauge({ name: 'infergate_config_last_reload_success_timestamp_seconds', help: 'Time of the last successful configuration load.', registers: [r] });

    this.queueLength = new Gauge({ name: 'infergate_queue_length', help: 'Requests waiting for a READY backend (or below maxConcurrent).', labelNames: ['pool'], registers: [r] });
    this.queueWait = new Histogram({ name: 'infergate_queue_wait_seconds', help: 'Time requests waited in the queue.', labelNames: ['pool'], buckets: LATENCY_BUCKETS, registers: [r] });
    this.prefixAffinity = new Counter({ name: 'infergate_prefix_affinity_total', help: 'Requests of pools with prefix affinity by result: hit (sent to the backend with the longest matched prefix), miss (no backend held its first block), gated (the preferred backend was too busy), no-prompt (no JSON prompt read ahead).', labelNames: ['pool', 'result'], registers: [r] });
    this.overloadShed = new Counter({ name: 'infergate_overload_shed_total', help: 'Requests answered 503 overloaded because every backend was past its overload thresholds, by priority (a value of overload.priority.shed, or cannot-wait: no queue, or a WebSocket upgrade).', labelNames: ['pool', 'priority'], registers: [r] });
    this.overloadHeld = new Counter({ name: 'infergate_overload_held_total', help: 'Requests held in the queue because every backend was past its overload thresholds.', labelNames: ['pool'], registers: [r] });
    this.overloadWait = new Histogram({ name: 'infergate_overload_wait_seconds', help: 'Time requests held for overload waited (until a backend dropped below its thresholds, the queue timeout, or the client left); also in infergate_queue_wait_seconds.', labelNames: ['pool'], buckets: LATENCY_BUCKETS, registers: [r] });
    this.admissions = new Counter({ name: 'infergate_model_admissions_total', help: 'Model admission checks (name/version/checksum) by result.', labelNames: ['pool', 'group', 'backend', 'result'], registers: [r] });
    this.warmups = new Counter({ name: 'infergate_warmups_total', help: 'Warm-up runs by result.', labelNames: ['pool', 'group', 'backend', 'result'], registers: [r] });

    this.rolloutWeight = new Gauge({ name: 'infergate_rollout_weight', help: 'Traffic weight of each group of a pool under a rollout (0-100).', labelNames: ['pool', 'group'], registers: [r] });
    this.rolloutState = new Gauge({ name: 'infergate_rollout_state', help: 'Rollout state of a canary group: 1 for the current state.', labelNames: ['pool', 'group', 'state'], registers: [r] });
    this.rolloutTransitions = new Counter({ name: 'infergate_rollout_transitions_total', help: 'Rollout state and weight changes.', labelNames: ['pool', 'group', 'from', 'to'], registers: [r] });
    this.rolloutChecks = new Counter({ name: 'infergate_rollout_checks_total', help: 'Canary analysis checks by verdict.', labelNames: ['pool', 'group', 'verdict'], registers: [r] });
    this.groupFallbacks = new Counter({ name: 'infergate_group_fallbacks_total', help: 'Requests whose group had no READY backend and went to another group.', labelNames: ['pool', 'group'], registers: [r] });
    this.ejections = new Counter({ name: 'infergate_outlier_ejections_total', help: 'Backends ejected by passive outlier detection, by detector.', labelNames: ['pool', 'group', 'backend', 'detector'], registers: [r] });
    this.discoveryErrors = new Counter({ name: 'infergate_discovery_errors_total', help: 'Failed DNS look-ups of discovered groups (the last known backends are kept).', labelNames: ['pool', 'group'], registers: [r] });
    this.ejectionsSkipped = new Counter({ name: 'infergate_outlier_ejections_skipped_total', help: 'Ejections refused by maxEjectionPercent or to keep the last READY backend.', labelNames: ['pool', 'detector'], registers: [r] });

    this.loadScrapes = new Counter({ name: 'infergate_load_scrapes_total', help: 'Scrapes of backends\' load signals (their Prometheus metrics), by result: ok, or why it failed (timeout, connect, status, parse, too-large, no-signal). A failure never changes the backend\'s state.', labelNames: ['pool', 'group', 'backend', 'result'], registers: [r] });

    const backends = (): Iterable<BackendGaugeSource> => this.#backends();
    const withLoad = function* (): Iterable<{ b: BackendGaugeSource; load: ServerLoad; ageMs: number }> {
      for (const b of backends()) {
        const load = b.scrapesLoad === true ? b.lastServerLoad?.() : undefined;
        const ageMs = b.serverLoadAgeMs?.();
        if (load !== undefined && ageMs !== undefined) yield { b, load, ageMs };
      }
    };
    new Gauge({
      name: 'infergate_backend_load_age_seconds', help: 'Age of the backend\'s last good load scrape; past load.staleAfter its signals are ignored.', labelNames: ['pool', 'group', 'backend'], registers: [r],
      collect() {
        this.reset();
        for (const { b, ageMs } of withLoad()) this.set({ pool: b.pool, group: b.group, backend: b.id }, ageMs / 1000);
      },
    });
    new Gauge({
      name: 'infergate_backend_load_stale', help: '1 when the backend\'s load signals are older than load.staleAfter (or none was scraped yet) and the picker ignores them.', labelNames: ['pool', 'group', 'backend'], registers: [r],
      collect() {
        this.reset();
        for (const b of backends()) {
          if (b.scrapesLoad !== true) continue;
          const ageMs = b.serverLoadAgeMs?.();
          this.set({ pool: b.pool, group: b.group, backend: b.id }, ageMs === undefined || ageMs > (b.loadStaleAfterMs ?? 0) ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: 'infergate_backend_load', help: 'What the backend\'s server last said about its load: signal queued (requests waiting), running, kv_usage (0-1).', labelNames: ['pool', 'group', 'backend', 'signal'], registers: [r],
      collect() {
        this.reset();
        for (const { b, load } of withLoad()) {
          const labels = { pool: b.pool, group: b.group, backend: b.id };
          if (load.queued !== undefined) this.set({ ...labels, signal: 'queued' }, load.queued);
          if (load.running !== undefined) this.set({ ...labels, signal: 'running' }, load.running);
          if (load.kvUsage !== undefined) this.set({ ...labels, signal: 'kv_usage' }, load.kvUsage);
        }
      },
    });
    new Gauge({
      name: 'infergate_backend_load_score', help: 'balance load-aware: the expected cost of a new request on each READY backend now (latency x load factor; lower is favoured).', labelNames: ['pool', 'group', 'backend'], registers: [r],
      collect() {
        this.reset();
        const byPool = new Map<string, { weights: LoadAwareWeights; list: BackendGaugeSource[] }>();
        for (const b of backends()) {
          if (b.loadWeights === undefined || b.loadWeights === null || b.state() !== 'READY') continue;
          let entry = byPool.get(b.pool);
          if (entry === undefined) byPool.set(b.pool, (entry = { weights: b.loadWeights, list: [] }));
          entry.list.push(b);
        }
        for (const { weights, list } of byPool.values()) {
          // A backend with load weights is a Backend, and so a Candidate.
          const scores = scoreCandidates(list as unknown as Candidate[], weights);
          list.forEach((b, i) => this.set({ pool: b.pool, group: b.group, backend: b.id }, scores[i]!));
        }
      },
    });
    new Gauge({
      name: 'infergate_backend_inflight', help: 'Requests in flight per backend.', labelNames: ['pool', 'group', 'backend'], registers: [r],
      collect() {
        this.reset();
        for (const b of backends()) this.set({ pool: b.pool, group: b.group, backend: b.id }, b.inflight);
      },
    });
    new Gauge({
      name: 'infergate_backend_effective_weight', help: 'The weight the balancer uses for the backend now (slow start scales it).', labelNames: ['pool', 'group', 'backend'], registers: [r],
      collect() {
        this.reset();
        for (const b of backends()) this.set({ pool: b.pool, group: b.group, backend: b.id }, b.effectiveWeight());
      },
    });
    new Gauge({
      name: 'infergate_backend_up', help: '1 when the backend takes new requests (READY).', labelNames: ['pool', 'group', 'backend'], registers: [r],
      collect() {
        this.reset();
        for (const b of backends()) this.set({ pool: b.pool, group: b.group, backend: b.id }, b.state() === 'READY' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'infergate_backend_state', help: 'Backend state: 1 for the current state, 0 for the others.', labelNames: ['pool', 'group', 'backend', 'state'], registers: [r],
      collect() {
        this.reset();
        for (const b of backends()) {
          const current = b.state();
          for (const s of STATES) this.set({ pool: b.pool, group: b.group, backend: b.id, state: s }, s === current ? 1 : 0);
        }
      },
    });
  }

  /** What the request path counts. */
  proxyStats(): ProxyStats {
    return {
      retried: (pool, reason) => this.retries.inc({ pool, reason }),
      retryBudgetExhausted: (pool) => this.retryBudgetExhausted.inc({ pool }),
      failed: (pool, kind) => this.errors.inc({ pool, kind }),
      // Failure path only: a labels() call here is no cost on the successful request path.
      attemptFailed: (b, kind) => this.backendErrors.inc({ pool: b.pool, group: b.group, backend: b.id, kind }),
      responseCut: (b, kind) => this.responsesCut.inc({ pool: b.pool, group: b.group, kind }),
      noRoute: () => this.noRoute.inc(),
      rejected: (reason) => this.rejected.inc({ reason }),
    };
  }

  /** The gauge of a pool's body buffers (proxy/body-buffers.ts). */
  bindBodyBuffers(pool: string): { set(bytes: number): void } {
    const g = this.bodyBuffered.labels({ pool });
    g.set(0);
    return g;
  }

  healthStats(): HealthStats {
    return {
      admission: (b, result) => this.admissions.inc({ pool: b.pool, group: b.group, backend: b.id, result }),
      warmup: (b, result) => this.warmups.inc({ pool: b.pool, group: b.group, backend: b.id, result }),
      localProbeError: (b, code) => this.probeLocalErrors.inc({ pool: b.pool, group: b.group, backend: b.id, code }),
    };
  }

  loadStats(): LoadStats {
    return { scrape: (b, result: 'ok' | ScrapeFailure) => this.loadScrapes.inc({ pool: b.pool, group: b.group, backend: b.id, result }) };
  }

  rolloutStats(): RolloutStats {
    return {
      weight: (pool, group, weight) => this.rolloutWeight.set({ pool, group }, weight),
      state: (pool, group, state, on) => this.rolloutState.set({ pool, group, state }, on ? 1 : 0),
      transition: (pool, group, from, to) => this.rolloutTransitions.inc({ pool, group, from, to }),
      check: (pool, group, verdict) => this.rolloutChecks.inc({ pool, group, verdict }),
    };
  }

  #coordinationStats: CoordinationStats | null = null;

  /** Coordination through etcd (coordination/etcd.ts); made only when configured, so a lone replica shows none of it. */
  coordinationStats(): CoordinationStats {
    if (this.#coordinationStats !== null) return this.#coordinationStats;
    const r = this.registry;
    const connected = new Gauge({ name: 'infergate_coordination_connected', help: '1 while etcd is reachable and this replica shares rollouts and ejections; 0 while it keeps the last shared view.', registers: [r] });
    const leader = new Gauge({ name: 'infergate_rollout_leader', help: '1 when this replica decides the rollout of this canary group (etcd leader), 0 when it follows.', labelNames: ['pool', 'group'], registers: [r] });
    const errors = new Counter({ name: 'infergate_coordination_errors_total', help: 'Failed etcd operations by operation (heartbeat, report, write rollout state, campaign, watch, load, share ejection).', labelNames: ['operation'], registers: [r] });
    this.#coordinationStats = {
      connected: (up) => connected.set(up ? 1 : 0),
      leader: (pool, group, leading) => leader.set({ pool, group }, leading ? 1 : 0),
      error: (operation) => errors.inc({ operation }),
    };
    return this.#coordinationStats;
  }

  #listenerStats: ListenerStats | null = null;

  /** One set of listener metrics for every listener (memoised: each listener asks). */
  listenerStats(): ListenerStats {
    this.#listenerStats ??= this.#createListenerStats();
    return this.#listenerStats;
  }

  #createListenerStats(): ListenerStats {
    const refused = new Counter({ name: 'infergate_client_connections_refused_total', help: 'Client connections closed at accept because a limit was reached, by listener and reason (listener-full, client-full).', labelNames: ['listener', 'reason'], registers: [this.registry] });
    const handshakes = new Counter({ name: 'infergate_tls_handshake_errors_total', help: 'TLS handshakes that failed (or client certificates that did not verify), by listener.', labelNames: ['listener'], registers: [this.registry] });
    const reloads = new Counter({ name: 'infergate_tls_certificate_reloads_total', help: 'Certificate reloads of TLS listeners by result.', labelNames: ['listener', 'result'], registers: [this.registry] });
    const expiry = new Gauge({ name: 'infergate_tls_certificate_expiry_timestamp_seconds', help: 'When the certificate a TLS listener serves expires (Unix time).', labelNames: ['listener'], registers: [this.registry] });
    return {
      refused: (listener, reason) => refused.inc({ listener, reason }),
      tlsHandshakeFailed: (listener) => handshakes.inc({ listener }),
      tlsReloaded: (listener, ok) => reloads.inc({ listener, result: ok ? 'success' : 'failure' }),
      certificateExpiry: (listener, notAfterMs) => {
        if (notAfterMs !== null) expiry.set({ listener }, notAfterMs / 1000);
      },
    };
  }

  webSocketStats(): WebSocketStats {
    return {
      upgrade: (pool, result) => this.websocketUpgrades.inc({ pool, result }),
      open: (delta) => this.websocketOpen.inc(delta),
      rejected: (reason) => this.rejected.inc({ reason }),
      noRoute: () => this.noRoute.inc(),
    };
  }

  /** Counts what the clusters publish: transitions, ejections, refused ejections, discovery failures, group fallbacks. */
  readonly onClusterEvent = (e: ClusterEvent): void => {
    switch (e.type) {
      case 'state':
        this.transitions.inc({ pool: e.backend.pool, group: e.backend.group, backend: e.backend.id, from: e.from, to: e.to });
        return;
      case 'ejected':
        this.ejections.inc({ pool: e.backend.pool, group: e.backend.group, backend: e.backend.id, detector: e.detector });
        return;
      case 'ejection-skipped':
        this.ejectionsSkipped.inc({ pool: e.backend.pool, detector: e.detector });
        return;
      case 'discovery-failed':
        this.discoveryErrors.inc({ pool: e.pool, group: e.group });
        return;
      case 'group-fallback':
        this.groupFallbacks.inc({ pool: e.pool, group: e.group });
        return;
      case 'ejection-ended':
      case 'members':
        return;
      default: {
        const never: never = e;
        throw new Error(`unknown cluster event ${JSON.stringify(never)}`);
      }
    }
  };

  bindBackend(pool: string, group: string, backend: string): BackendStats {
    const byGroup = { pool, group };
    return {
      requests: CODE_CLASSES.map((code) => this.#requestCounters.child(this.requests, { pool, group, backend, code })),
      upstreamSeconds: this.#upstreamHistograms.child(this.upstreamDuration, { pool, group, backend }),
      requestSeconds: this.#byRoute(pool, group),
      bytesIn: this.#requestByteCounters.child(this.requestBytes, byGroup),
      bytesOut: this.#responseByteCounters.child(this.responseBytes, byGroup),
      firstByteSeconds: this.#firstByteHistograms.child(this.firstByte, byGroup),
      sseFirstEventSeconds: this.#sseFirstEventHistograms.child(this.sseFirstEvent, byGroup),
      sseEventGapSeconds: this.#sseGapHistograms.child(this.sseEventGap, byGroup),
      streams: this.#streamCell(pool, group),
      probeOk: this.healthChecks.labels({ pool, group, backend, result: 'pass' }),
      probeFail: this.healthChecks.labels({ pool, group, backend, result: 'fail' }),
    };
  }

  /** The queue's gauge and histogram children for one pool. */
  bindQueue(pool: string): { length(n: number): void; waited(seconds: number): void } {
    const length = this.queueLength.labels({ pool });
    const wait = this.queueWait.labels({ pool });
    length.set(0);
    return { length: (n) => length.set(n), waited: (s) => wait.observe(s) };
  }

  /** The overload counters of one pool (overload/guard.ts). */
  bindOverload(pool: string): { shed(priority: string): void; held(): void; waited(seconds: number): void } {
    const held = this.overloadHeld.labels({ pool });
    const wait = this.overloadWait.labels({ pool });
    return { shed: (priority) => this.overloadShed.inc({ pool, priority }), held: () => held.inc(), waited: (s) => wait.observe(s) };
  }

  /** Request-duration children of one pool and group, one per route, bound once each. */
  #byRoute(pool: string, group: string): (route: string) => Histogram.Internal<string> {
    const children = new Map<string, Histogram.Internal<string>>();
    return (route) => {
      let child = children.get(route);
      if (child === undefined) {
        child = this.#requestHistograms.child(this.requestDuration, { pool, group, route });
        children.set(route, child);
      }
      return child;
    };
  }

  bindPool(pool: string): PoolStats {
    // Each result's child bound on its first use (a pool without affinity shows no series), then reused per request.
    const affinity = new Map<string, { inc(): void }>();
    return {
      requestSeconds: this.#byRoute(pool, ''),
      requestsNoBackend: CODE_CLASSES.map((code) => this.#requestCounters.child(this.requests, { pool, group: '', backend: '', code })),
      bytesIn: this.#requestByteCounters.child(this.requestBytes, { pool, group: '' }),
      bytesOut: this.#responseByteCounters.child(this.responseBytes, { pool, group: '' }),
      prefixAffinity: (result) => {
        let child = affinity.get(result);
        if (child === undefined) affinity.set(result, (child = this.prefixAffinity.labels({ pool, result })));
        child.inc();
      },
    };
  }

  /** One cell per pool and group, kept across reloads (a stream outlives the configuration it started under). */
  #streamCell(pool: string, group: string): StreamCell {
    const key = `${pool}\u0000${group}`;
    let entry = this.#streamCells.get(key);
    if (entry === undefined) {
      entry = { labels: { pool, group }, cell: { open: 0 } };
      this.#streamCells.set(key, entry);
    }
    return entry.cell;
  }
}

export function codeClassIndex(status: number): number {
  const i = Math.floor(status / 100) - 1;
  return i < 0 ? 0 : i > 4 ? 4 : i;
}

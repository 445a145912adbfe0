// The owner side of `workers: N` (node:cluster's primary): it forks the workers, which share the listeners, and keeps
// the one view they route by. Its own App runs the probes, admission, warm-up, outlier detection, discovery, rollouts
// and the admin API; every change of that view reaches every worker within milliseconds, and what the workers' traffic
// says comes back in batches. A worker that dies is replaced; reload and shutdown go to every worker.
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import type { App } from '../app.js';
import type { Backend } from '../backends/backend.js';
import type { Cluster } from '../cluster/cluster.js';
import type { Logger } from '../observe/log.js';
import { isToOwner, type BackendCounts, type Signal, type ToWorker } from './messages.js';
import { captureView } from './view.js';

/** How often the owner compares its view with the last one sent (weights move without an event: rollouts, admin). */
const VIEW_POLL_MS = 50;
/** A worker that does not answer a metrics request in time is left out of that scrape. */
const METRICS_TIMEOUT_MS = 2000;

/** Metrics whose truth is the owner's (health, rollouts, config): workers' mirrored copies are left out of the sum. */
const OWNER_METRICS = /^infergate_(backend_(state|up|effective_weight|inflight|state_transitions_total)|build_info|config_|coordination_|discovery_|health_checks_total|model_admissions_total|outlier_|probe_local_errors_total|rollout_|warmups_total)/;
/** Gauges every worker reports alike (the certificate its listener serves): one worker's value, not the sum. */
const SAME_IN_EVERY_WORKER = /^infergate_tls_certificate_expiry_timestamp_seconds$/;

interface WorkerState {
  readonly worker: Worker;
  ready: boolean;
  /** Latest in-flight count per backend id. */
  readonly inflight: Map<string, number>;
}

export class WorkerFleet {
  readonly #app: App;
  readonly #count: number;
  readonly #log: Logger;
  readonly #workers = new Map<number, WorkerState>();
  #stopping = false;
  #lastView = '';
  #viewTimer: NodeJS.Timeout | null = null;
  #pushScheduled = false;
  #metricsId = 0;
  readonly #metricsWaiters = new Map<number, (m: MetricObjectWithValues<MetricValue<string>>[] | null) => void>();
  #unsubscribe: (() => void) | null = null;

  constructor(app: App, count: number, log: Logger) {
    this.#app = app;
    this.#count = count;
    this.#log = log;
  }

  /** Forks the workers and resolves when each has started (its listeners are open). */
  async start(): Promise<void> {
    cluster.on('exit', this.#onExit);
    const started: Promise<void>[] = [];
    for (let i = 0; i < this.#count; i++) started.push(this.#fork());
    // Any change of a backend's state, an ejection, members: pushed at once; weights by the poll.
    this.#unsubscribe = this.#app.events.subscribe(() => this.#schedulePush());
    this.#viewTimer = setInterval(() => this.#pushIfChanged(), VIEW_POLL_MS);
    this.#viewTimer.unref();
    await Promise.all(started);
  }

  get size(): number {
    return [...this.#workers.values()].filter((w) => w.ready).length;
  }

  #fork(): Promise<void> {
    const worker = cluster.fork();
    const state: WorkerState = { worker, ready: false, inflight: new Map() };
    this.#workers.set(worker.id, state);
    return new Promise((resolve) => {
      worker.on('message', (m: unknown) => {
        if (!isToOwner(m)) return;
        switch (m.type) {
          case 'infergate:ready':
            state.ready = true;
            // A new worker gets the whole view before its first request.
            this.#send(worker, { type: 'infergate:view', view: captureView(this.#app.pools()) });
            resolve();
            return;
          case 'infergate:signals':
            this.#onSignals(state, m.signals, m.counts);
            return;
          case 'infergate:metrics':
            this.#metricsWaiters.get(m.id)?.(m.metrics as MetricObjectWithValues<MetricValue<string>>[]);
            return;
        }
      });
      worker.once('exit', () => resolve());
    });
  }

  readonly #onExit = (worker: Worker, code: number | null, signal: string | null): void => {
    const state = this.#workers.get(worker.id);
    this.#workers.delete(worker.id);
    if (state !== undefined) this.#applyInflight();
    if (this.#stopping) return;
    // The other workers go on serving; the port stays open (the owner holds it).
    this.#log.error({ worker: worker.process.pid, code, signal }, 'worker exited; starting a replacement');
    void this.#fork();
  };

  #send(worker: Worker, m: ToWorker): void {
    if (worker.isConnected()) worker.send(m);
  }

  #broadcast(m: ToWorker): void {
    for (const w of this.#workers.values()) if (w.ready) this.#send(w.worker, m);
  }

  #schedulePush(): void {
    if (this.#pushScheduled) return;
    this.#pushScheduled = true;
    setImmediate(() => {
      this.#pushScheduled = false;
      this.#pushIfChanged();
    });
  }

  #pushIfChanged(): void {
    const view = captureView(this.#app.pools());
    const text = JSON.stringify(view);
    if (text === this.#lastView) return;
    this.#lastView = text;
    this.#broadcast({ type: 'infergate:view', view });
  }

  #onSignals(state: WorkerState, signals: readonly Signal[], counts: Record<string, BackendCounts>): void {
    // One pass over the backends per batch: the lookups below are O(1), not a scan per signal.
    const byPool = new Map<string, Cluster>();
    const byId = new Map<string, { cluster: Cluster; backend: Backend }>();
    for (const c of this.#app.pools()) {
      byPool.set(c.name, c);
      for (const b of c.backends) byId.set(b.id, { cluster: c, backend: b });
    }
    for (const s of signals) {
      if (s.t === 'rollout') {
        byPool.get(s.pool)?.attemptsFromWorker(s.group, s.ok, s.failed);
        continue;
      }
      const found = byId.get(s.id);
      if (found === undefined) continue;
      const { cluster: c, backend: b } = found;
      if (s.t === 'outcomes') c.outcomesFromWorker(b, s.runs);
      else if (s.t === 'reverify') c.signalFromWorker(b, 'reverify', s.reason);
      else c.signalFromWorker(b, 'probe-now', '');
    }
    let changed = false;
    for (const [id, n] of Object.entries(counts)) {
      state.inflight.set(id, n.inflight);
      const b = byId.get(id)?.backend;
      if (b === undefined) continue;
      b.requests += n.requests;
      b.errors += n.errors;
      changed = true;
    }
    if (changed) this.#applyInflight();
  }

  /** The owner's backends show the fleet's in-flight requests (admin API, metrics). */
  #applyInflight(): void {
    for (const c of this.#app.pools()) {
      for (const b of c.backends) {
        let sum = 0;
        for (const w of this.#workers.values()) sum += w.inflight.get(b.id) ?? 0;
        b.inflight = sum;
      }
    }
  }

  /** SIGHUP: the owner has applied the new configuration; every worker applies the same text. */
  reload(text: string, file: string): void {
    this.#broadcast({ type: 'infergate:reload', text, file });
    // Membership may have changed: the next view follows the new clusters.
    this.#lastView = '';
    this.#schedulePush();
  }

  reopenLogs(): void {
    this.#broadcast({ type: 'infergate:reopen' });
  }

  /** SIGTERM / SIGINT: every worker drains (grace, then in-flight requests finish) and exits; resolves when all have. */
  async shutdown(graceMs: number): Promise<void> {
    this.#stopping = true;
    this.#unsubscribe?.();
    if (this.#viewTimer !== null) clearInterval(this.#viewTimer);
    const exits = [...this.#workers.values()].map((w) => new Promise<void>((resolve) => {
      if (w.worker.isDead()) return resolve();
      w.worker.once('exit', () => resolve());
    }));
    for (const w of this.#workers.values()) this.#send(w.worker, { type: 'infergate:shutdown', graceMs });
    await Promise.all(exits);
    cluster.off('exit', this.#onExit);
  }

  /** /metrics for the whole process tree: the owner's own metrics plus the workers', summed per series. */
  readonly metricsSource = {
    contentType: AggregatorRegistry.PROMETHEUS_CONTENT_TYPE,
    metrics: async (): Promise<string> => {
      const own = await this.#app.metrics.registry.getMetricsAsJSON();
      const fromWorkers = await Promise.all([...this.#workers.values()].filter((w) => w.ready).map((w) => this.#askMetrics(w.worker)));
      const lists = [own as MetricObjectWithValues<MetricValue<string>>[]];
      let first = true;
      for (const list of fromWorkers) {
        if (list === null) continue;
        lists.push(list.filter((m) => !OWNER_METRICS.test(m.name) && (first || !SAME_IN_EVERY_WORKER.test(m.name))));
        first = false;
      }
      return AggregatorRegistry.aggregate(lists).metrics();
    },
  };

  #askMetrics(worker: Worker): Promise<MetricObjectWithValues<MetricValue<string>>[] | null> {
    const id = ++this.#metricsId;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#metricsWaiters.delete(id);
        resolve(null);
      }, METRICS_TIMEOUT_MS);
      this.#metricsWaiters.set(id, (m) => {
        clearTimeout(timer);
        this.#metricsWaiters.delete(id);
        resolve(m);
      });
      this.#send(worker, { type: 'infergate:metrics-request', id });
    });
  }
}

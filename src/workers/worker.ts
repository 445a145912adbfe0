// The worker side of `workers: N`: this process serves requests on the shared listeners and routes by the owner's
// view. It runs no probes, admission, warm-up, outlier detection or rollouts: what its traffic says (outcomes, a
// refused connection, a 503) goes to the owner, batched, and the owner's verdicts come back in the next view.
import type { Backend } from '../backends/backend.js';
import type { Cluster, GroupRecorder, HealthDriver, OutlierSink } from '../cluster/cluster.js';
import type { Outcome, OutlierView } from '../outlier/types.js';
import type { BackendCounts, Signal, ToOwner } from './messages.js';

/** Signals wait at most this long before they go to the owner (the owner ejects within one batch of a failure). */
export const SIGNAL_BATCH_MS = 20;
const MAX_SAMPLES = 1000;

/** Workers keep no outlier records (the owner's admin API shows them). */
const NO_VIEW: OutlierView = { ejected: false, ejections: 0, multiplier: 0, ejectedUntilMs: null, consecutive5xx: 0, consecutiveGatewayErrors: 0, recentRequests: 0, recentErrors: 0, lastReason: null };

export class WorkerLink {
  readonly #send: (m: ToOwner) => void;
  /** Signals that are not counts: reverify, probe-now (rare, in order). */
  #pending: Signal[] = [];
  /** pool -> backend id -> outcome runs. */
  #runs = new Map<string, Map<string, Array<[Outcome, number]>>>();
  /** pool/group -> latencies of good and failed attempts. */
  #rollout = new Map<string, { pool: string; group: string; ok: number[]; failed: number[] }>();
  #timer: NodeJS.Timeout | null = null;
  readonly #last = new Map<string, { requests: number; errors: number }>();
  #clusters: () => Iterable<Cluster> = () => [];

  constructor(send: (m: ToOwner) => void) {
    this.#send = send;
  }

  /** The clusters whose counters go with each batch (the running configuration's). */
  setClusters(clusters: () => Iterable<Cluster>): void {
    this.#clusters = clusters;
  }

  #arm(): void {
    if (this.#timer === null) {
      this.#timer = setTimeout(this.flush, SIGNAL_BATCH_MS);
      this.#timer.unref();
    }
  }

  #push(s: Signal): void {
    this.#pending.push(s);
    this.#arm();
  }

  #outcome(pool: string, id: string, outcome: Outcome): void {
    let byId = this.#runs.get(pool);
    if (byId === undefined) this.#runs.set(pool, (byId = new Map()));
    let runs = byId.get(id);
    if (runs === undefined) byId.set(id, (runs = []));
    const last = runs[runs.length - 1];
    if (last !== undefined && last[0] === outcome) last[1]++;
    else runs.push([outcome, 1]);
    this.#arm();
  }

  #record(pool: string, group: string, ok: boolean, latencyMs: number): void {
    const key = `${pool}/${group}`;
    let r = this.#rollout.get(key);
    if (r === undefined) this.#rollout.set(key, (r = { pool, group, ok: [], failed: [] }));
    // Bounded per batch: the analysis compares distributions; 1000 samples per 20 ms is 50k per second.
    const list = ok ? r.ok : r.failed;
    if (list.length < MAX_SAMPLES) list.push(latencyMs);
    this.#arm();
  }

  /** Sends what is pending with every backend's in-flight count and its requests and errors since the last batch. */
  readonly flush = (): void => {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const counts: Record<string, BackendCounts> = {};
    for (const c of this.#clusters()) {
      for (const b of c.backends) {
        const last = this.#last.get(b.id) ?? { requests: 0, errors: 0 };
        if (b.inflight === 0 && b.requests === last.requests && b.errors === last.errors) continue;
        counts[b.id] = { inflight: b.inflight, requests: b.requests - last.requests, errors: b.errors - last.errors };
        this.#last.set(b.id, { requests: b.requests, errors: b.errors });
      }
    }
    const signals = this.#pending;
    this.#pending = [];
    for (const [pool, byId] of this.#runs) for (const [id, runs] of byId) signals.push({ t: 'outcomes', pool, id, runs });
    this.#runs = new Map();
    for (const r of this.#rollout.values()) signals.push({ t: 'rollout', ...r });
    this.#rollout = new Map();
    this.#send({ type: 'infergate:signals', signals, counts });
  };

  /** Counts also go out on their own now and then, so the owner's in-flight numbers stay fresh without traffic. */
  startCountReports(everyMs: number): () => void {
    const t = setInterval(this.flush, everyMs);
    t.unref();
    return () => clearInterval(t);
  }

  /** The health driver of a backend in a worker: traffic's requests go to the owner, which owns the probes. */
  driver(pool: string, b: Backend): HealthDriver {
    return {
      start: () => undefined,
      stop: () => undefined,
      reverify: (reason) => this.#push({ t: 'reverify', pool, id: b.id, reason }),
      probeNow: () => this.#push({ t: 'probe-now', pool, id: b.id }),
      // Pushed readiness arrives at the owner's admin API, never here.
      pushReady: () => undefined,
      pushUnready: () => undefined,
    };
  }

  outlierSink(pool: string): OutlierSink {
    return {
      report: (host: Backend, outcome: Outcome) => this.#outcome(pool, host.id, outcome),
      setHosts: () => undefined,
      windowMs: 0,
      view: () => NO_VIEW,
    };
  }

  recorder(pool: string): GroupRecorder {
    return { record: (group, ok, latencyMs) => this.#record(pool, group, ok, latencyMs) };
  }
}

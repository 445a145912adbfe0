// A pool's overload policy: which backends are past their thresholds (thresholds.ts), and what a request does when all
// that could take it are — shed at once (503, Retry-After) when its priority header says so, else held in the pool's
// queue until a backend drops below them. As the Gateway API Inference Extension's saturation detector (saturated when
// no pod has fresh metrics below queue depth 5 and KV-cache use 0.8; kubernetes-sigs/gateway-api-inference-extension,
// pkg/epp/saturationdetector/saturationdetector.go) sheds sheddable requests and holds the others rather than pile onto
// saturated servers. Ours judges the queue by default and KV use only when configured (config/schema.ts says why).
import type { Candidate } from '../balancer/balancer.js';
import type { OverloadConfig } from '../config/types.js';
import { estimatedQueue, pastThresholds } from './thresholds.js';

/** What the guard counts (observe/metrics.ts implements it). */
export interface OverloadStats {
  /** A request answered 503 because every backend was past its thresholds, by its priority value. */
  shed(priority: string): void;
  /** A request held in the queue because every backend was past its thresholds. */
  held(): void;
  /** How long a held request waited, however its wait ended (a backend, the queue timeout, the client gone). */
  waited(seconds: number): void;
}

interface Snapshot {
  at: number;
  seq: number | undefined;
  queued: number | undefined;
  inflight: number;
}

/**
 * Without scrape numbers (ServerLoad.seq): two readings of one scrape — a worker's copy of the owner's scrape is re-dated at each view, a few ms
 * apart; two real scrapes are the scrape interval (100 ms or more) apart.
 */
const SAME_SCRAPE_MS = 10;

export class OverloadGuard {
  readonly config: OverloadConfig;
  readonly #stats: OverloadStats | null;
  readonly #now: () => number;
  /** Per backend: the scrape last seen (its time and queue) and infergate's in-flight count when it was first seen. */
  readonly #snapshots = new WeakMap<Candidate, Snapshot>();

  constructor(config: OverloadConfig, now: () => number, stats: OverloadStats | null = null) {
    this.config = config;
    this.#now = now;
    this.#stats = stats;
  }

  /** `c` is past its thresholds now. */
  full(c: Candidate): boolean {
    const load = c.serverLoad?.();
    if (load === undefined) return pastThresholds(undefined, 0, c.inflight, this.config);
    let snap = this.#snapshots.get(c);
    if (snap === undefined) {
      snap = { at: load.at, seq: load.seq, queued: load.queued, inflight: c.inflight };
      this.#snapshots.set(c, snap);
    } else if (load.seq !== undefined ? snap.seq !== load.seq : Math.abs(snap.at - load.at) > SAME_SCRAPE_MS || snap.queued !== load.queued) {
      snap.at = load.at;
      snap.seq = load.seq;
      snap.queued = load.queued;
      snap.inflight = c.inflight;
    }
    return pastThresholds(load, estimatedQueue(load.queued ?? 0, snap.inflight, c.inflight), c.inflight, this.config);
  }

  /** The request's priority value when it is one to shed, else null (held). */
  shedPriority(headers: Record<string, string | string[] | undefined>): string | null {
    const v = headers[this.config.priorityHeader];
    return typeof v === 'string' && this.config.shed.has(v) ? v : null;
  }

  now(): number {
    return this.#now();
  }

  shed(priority: string): void {
    this.#stats?.shed(priority);
  }

  held(): void {
    this.#stats?.held();
  }

  /** A held request's wait is over (it got a backend, or it ended without one): counted once. */
  endHold(r: { overloadedSince?: number }): void {
    if (r.overloadedSince === undefined || r.overloadedSince < 0) return;
    this.#stats?.waited((this.#now() - r.overloadedSince) / 1000);
    r.overloadedSince = -1;
  }
}

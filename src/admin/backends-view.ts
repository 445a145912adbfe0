// The JSON shape of /admin/backends, built from live backend records.
import type { Backend } from '../backends/backend.js';
import type { RuntimeMark } from './changes.js';

/** Recent traffic of a backend (the outlier detector's sliding window), when there is one. */
export interface RecentTraffic {
  windowMs: number;
  requests: number;
  errors: number;
  /** Ejections over the backend's life. */
  ejections: number;
  /** Time left in the current ejection, or null when not ejected. */
  ejectionRemainingMs: number | null;
}

export interface BackendView {
  id: string;
  pool: string;
  group: string;
  url: string;
  state: string;
  stateReason: string;
  stateSinceMs: number;
  weight: number;
  effectiveWeight: number;
  inflight: number;
  requests: number;
  errors: number;
  /** Errors / requests over `recent.windowMs` when outlier detection runs, else over the backend's life. */
  errorRate: number;
  recent: RecentTraffic | null;
  latencyMs: number;
  ejections: number;
  maxConcurrent: number;
  lastProbe: Backend['lastProbe'];
  admission: Backend['admission'];
  warmup: Backend['warmup'];
  /** Added through the admin API: gone at the next reload. */
  runtime: boolean;
  /** The configured weight when `weight` was changed at run time (until the next reload), else null. */
  configuredWeight: number | null;
  /**
   * What the server last said about its load (pools that scrape load signals), with the scrape's age and whether the
   * picker ignores it as stale (older than load.staleAfter); null when the pool scrapes nothing or no scrape succeeded.
   */
  load: { queued: number | null; running: number | null; kvUsage: number | null; ageMs: number; stale: boolean } | null;
}

export function backendView(b: Backend, nowMs: number, recent: RecentTraffic | null = null, mark: RuntimeMark | null = null): BackendView {
  return {
    id: b.id,
    pool: b.pool,
    group: b.group,
    url: b.origin,
    state: b.state(),
    stateReason: b.stateReason,
    stateSinceMs: Math.round(nowMs - b.stateSince),
    weight: b.weight,
    effectiveWeight: Math.round(b.effectiveWeight() * 1000) / 1000,
    inflight: b.inflight,
    requests: b.requests,
    errors: b.errors,
    errorRate: recent !== null ? ratio(recent.errors, recent.requests) : ratio(b.errors, b.requests),
    recent,
    latencyMs: Math.round(b.latencyScore() * 100) / 100,
    ejections: recent?.ejections ?? 0,
    maxConcurrent: b.maxConcurrent,
    lastProbe: b.lastProbe,
    admission: b.admission,
    warmup: b.warmup,
    runtime: mark?.runtime ?? false,
    configuredWeight: mark?.configuredWeight ?? null,
    load: loadView(b),
  };
}

function loadView(b: Backend): BackendView['load'] {
  const load = b.lastServerLoad();
  const ageMs = b.serverLoadAgeMs();
  if (load === undefined || ageMs === undefined) return null;
  return { queued: load.queued ?? null, running: load.running ?? null, kvUsage: load.kvUsage ?? null, ageMs: Math.round(ageMs), stale: b.serverLoad() === undefined };
}

function ratio(errors: number, requests: number): number {
  return requests === 0 ? 0 : Math.round((errors / requests) * 10000) / 10000;
}

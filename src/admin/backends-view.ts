// The JSON shape of /admin/backends, built from live backend records.
import type { Backend } from '../backends/backend.js';

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
  errorRate: number;
  latencyMs: number;
  ejections: number;
  maxConcurrent: number;
  lastProbe: Backend['lastProbe'];
  admission: Backend['admission'];
  warmup: Backend['warmup'];
}

export function backendView(b: Backend, nowMs: number): BackendView {
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
    errorRate: b.requests === 0 ? 0 : Math.round((b.errors / b.requests) * 10000) / 10000,
    latencyMs: Math.round(b.latencyScore() * 100) / 100,
    ejections: b.ejections,
    maxConcurrent: b.maxConcurrent,
    lastProbe: b.lastProbe,
    admission: b.admission,
    warmup: b.warmup,
  };
}

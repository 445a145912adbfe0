// The last phase of a request, exactly once: metrics by status class and failure kind, and the access log line.
import type { Clock } from '../clock.js';
import type { AccessLog } from '../observe/access-log.js';
import type { Logger } from '../observe/log.js';
import { codeClassIndex } from '../observe/metrics.js';
import type { Exchange } from './exchange.js';
import type { TrustedProxies } from './client-address.js';
import { protocolOf, httpVersionOf } from './protocol.js';

/** What the request path counts (observe/metrics.ts implements it). */
export interface ProxyStats {
  retried(pool: string, reason: string): void;
  retryBudgetExhausted(pool: string): void;
  /** A request that ended in a failure, by the failure's code. */
  failed(pool: string, kind: string): void;
  /** An upstream attempt that failed (retried or not), by the backend it went to and the failure's code. */
  attemptFailed(backend: { readonly pool: string; readonly group: string; readonly id: string }, kind: string): void;
  /** A response already started (head sent) that a failure cut (idle or first-byte timeout, reset), by failure code. */
  responseCut(backend: { readonly pool: string; readonly group: string; readonly id: string }, kind: string): void;
  noRoute(): void;
  rejected(reason: string): void;
}

/** What every exchange shares: long-lived, built once per app. */
export interface ExchangeContext {
  readonly clock: Clock;
  readonly stats: ProxyStats;
  /** Null when the access log is off (read per request: a reload can switch it). */
  access(): AccessLog | null;
  /** The trusted proxies of the configuration in force (swapped on reload). */
  trustedProxies(): TrustedProxies;
  readonly log: Logger;
  /** True once shutdown began: responses then carry `Connection: close`. */
  draining(): boolean;
}

export function account(x: Exchange): void {
  const ctx = x.ctx;
  const pool = x.cluster;
  const totalMs = ctx.clock.now() - x.startedAt;
  const a = x.current;
  const failure = x.failure;
  if (a !== null && a.responseStarted) {
    const s = a.backend.stats;
    s.requests[codeClassIndex(x.status)]!.inc();
    s.requestSeconds(x.route).observe(totalMs / 1000);
    s.bytesIn.inc(a.bytesIn);
    s.bytesOut.inc(x.bytesOut);
  } else {
    const s = pool.stats;
    s.requestsNoBackend[codeClassIndex(x.status)]!.inc();
    s.requestSeconds(x.route).observe(totalMs / 1000);
    s.bytesIn.inc(a?.bytesIn ?? 0);
    s.bytesOut.inc(x.bytesOut);
  }
  if (failure !== null) ctx.stats.failed(pool.name, failure.code);
  if (x.affinity !== null) pool.stats.prefixAffinity(x.affinity);
  const access = ctx.access();
  if (access === null) return;
  const backend = a?.backend;
  const req = x.req;
  const choice = x.choice;
  const headers = req.headers;
  access.write({
    requestId: x.requestId,
    client: x.client,
    peer: x.peer,
    proto: protocolOf(req),
    httpVersion: httpVersionOf(req),
    method: req.method ?? '',
    url: req.url ?? '',
    status: x.status,
    upstreamStatus: a?.status ?? 0,
    pool: pool.name,
    group: backend?.group ?? '',
    backend: backend?.id ?? '',
    pick: choice?.reason ?? null,
    affinity: x.affinity,
    overload: x.overload,
    // Another group took it: its own had no backend that could (never for a pinned request).
    fallbackFrom: backend !== undefined && choice !== null && backend.group !== choice.group.name ? choice.group.name : null,
    attempts: x.history.attempts,
    connectMs: a?.connectMs ?? -1,
    upstreamMs: a === null ? -1 : a.latencyMs,
    firstByteMs: x.firstByteMs,
    totalMs,
    bytesIn: a?.bytesIn ?? 0,
    bytesOut: x.bytesOut,
    userAgent: headers['user-agent'],
    referer: headers.referer,
    error: failure?.code ?? null,
    cut: x.cut && failure !== null ? failure.code : null,
  });
}

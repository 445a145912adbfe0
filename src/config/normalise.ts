// Turns the validated YAML shape into the normalised `Config` (ms, bytes, parsed URLs, ids, Maps and Sets).

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ADAPTERS, type AdapterSpec, type SignalSource } from '../signals/adapters.js';
import { loadSchema, type ParsedConfig, type ParsedPool } from './schema.js';
import type { AccessLogConfig, BackendConfig, BodyExpectation, Config, DiscoverConfig, GroupConfig, HealthSpec, ListenerConfig, OutlierSpec, LoadConfig, OverloadConfig, PinConfig, PoolConfig, PrefixAffinityConfig, ProbeSpec, RolloutSpec, RouteConfig, StickyConfig, UpstreamTlsConfig, WarmupConfig } from './types.js';
import { effectivePort } from './units.js';

type ParsedBackends = NonNullable<ParsedPool['backends']>;

function backends(pool: string, group: string, list: ParsedBackends, poolMax: number): BackendConfig[] {
  return list.map((entry) => {
    const e = typeof entry === 'string' ? { url: entry, weight: 1, maxConcurrent: undefined } : entry;
    const url = new URL(e.url);
    return { id: `${pool}.${group}.${url.hostname}:${effectivePort(url)}`, url, origin: url.origin, weight: e.weight, maxConcurrent: e.maxConcurrent ?? poolMax };
  });
}

type ParsedRollout = NonNullable<NonNullable<ParsedPool['groups']>[string]['rollout']>;

export function rollout(r: ParsedRollout | undefined): RolloutSpec | null {
  if (r === undefined) return null;
  return {
    steps: r.steps,
    intervalMs: r.interval,
    minRequests: r.minRequests,
    maxErrorRate: r.maxErrorRate,
    maxErrorRatio: r.maxErrorRatio,
    minErrorIncrease: r.minErrorIncrease,
    maxLatencyRatio: r.maxLatencyRatio,
    minLatencyIncreaseMs: r.minLatencyIncrease,
    latencyQuantile: r.latencyQuantile,
    confidence: r.confidence,
    failureThreshold: r.failureThreshold,
    start: r.start,
  };
}

type ParsedDiscover = NonNullable<ParsedPool['discover']>;

function discover(d: ParsedDiscover | undefined): DiscoverConfig | null {
  return d === undefined ? null : { dns: d.dns, port: d.port, intervalMs: d.interval, scheme: d.scheme, weight: d.weight };
}

function groups(pool: string, p: ParsedPool): GroupConfig[] {
  if (p.backends || p.discover) {
    return [{ name: 'default', weight: 100, backends: backends(pool, 'default', p.backends ?? [], p.maxConcurrent), discover: discover(p.discover), rollout: null, model: null }];
  }
  return Object.entries(p.groups ?? {}).map(([name, g]) => ({
    name,
    weight: g.weight,
    backends: backends(pool, name, g.backends ?? [], p.maxConcurrent),
    discover: discover(g.discover),
    rollout: rollout(g.rollout),
    model: g.model === undefined ? null : { name: g.model.name ?? null, version: g.model.version ?? null, md5: g.model.md5?.toLowerCase() ?? null },
  }));
}

export function outlier(o: ParsedPool['outlier']): OutlierSpec | null {
  if (o === false) return null;
  return {
    consecutive5xx: o.consecutive5xx,
    consecutiveGatewayErrors: o.consecutiveGatewayErrors,
    failureRate: o.failureRate === undefined ? null : { threshold: o.failureRate.threshold, minRequests: o.failureRate.minRequests, windowMs: o.failureRate.window },
    baseEjectionTimeMs: o.baseEjectionTime,
    maxEjectionTimeMs: Math.max(o.maxEjectionTime, o.baseEjectionTime),
    maxEjectionPercent: o.maxEjectionPercent,
    intervalMs: o.interval,
  };
}

function overload(o: ParsedPool['overload']): OverloadConfig | null {
  if (o === false) return null;
  return { queue: o.queue, kvUsage: o.kvUsage, inflight: o.inflight, priorityHeader: o.priority.header.toLowerCase(), shed: new Set(o.priority.shed) };
}

function prefixAffinity(a: ParsedPool['affinity']): PrefixAffinityConfig | null {
  const p = a?.prefix;
  if (p === undefined) return null;
  return { blockChars: p.blockSize, maxBlocks: p.maxBlocks, maxBodyBytes: p.maxBody, perBackend: p.perBackend, maxImbalanceAbsolute: p.maxImbalance.absolute, maxImbalanceRelative: p.maxImbalance.relative, onMiss: p.onMiss };
}

function sticky(s: ParsedPool['sticky']): StickyConfig | null {
  if (s === undefined) return null;
  if ('header' in s) return { kind: 'header', name: s.header.toLowerCase() };
  if ('cookie' in s) return { kind: 'cookie', name: s.cookie };
  return { kind: 'query', name: s.query };
}

function pin(p: ParsedPool['pinHeader']): PinConfig | null {
  return p === undefined ? null : { header: p.name.toLowerCase(), allow: new Set(p.allow) };
}

type ParsedHealth = ParsedPool['health'];
type ParsedProbe = ParsedHealth['readiness'];
type ParsedBody = ParsedProbe['expectBody'];

function bodyExpectation(b: ParsedBody): BodyExpectation | null | undefined {
  if (b === undefined || b === null) return b;
  return typeof b === 'string' ? { kind: 'substring', text: b } : { kind: 'json', pointer: b.json, equals: b.equals };
}

export function probeSpec(p: ParsedProbe): ProbeSpec {
  const spec: ProbeSpec = {
    intervalMs: p.interval,
    timeoutMs: p.timeout,
    healthyThreshold: p.healthyThreshold,
    unhealthyThreshold: p.unhealthyThreshold,
    headers: p.headers,
  };
  if (p.path !== undefined) spec.path = p.path;
  if (p.method !== undefined) spec.method = p.method.toUpperCase();
  if (p.expectStatus !== undefined) spec.expectStatus = p.expectStatus;
  const body = bodyExpectation(p.expectBody);
  if (body !== undefined) spec.expectBody = body;
  return spec;
}

function healthSpec(h: ParsedHealth): HealthSpec {
  const optional = (p: ParsedProbe | false | undefined): ProbeSpec | false | null => (p === undefined ? null : p === false ? false : probeSpec(p));
  const m = h.model;
  return {
    preset: h.preset,
    jitter: h.jitter,
    startup: optional(h.startup),
    readiness: probeSpec(h.readiness),
    liveness: optional(h.liveness),
    startupTimeoutMs: h.startupTimeout,
    model: m === undefined ? null : {
      name: m.name ?? null,
      version: m.version ?? null,
      md5: m.md5?.toLowerCase() ?? null,
      metadataPath: m.metadataPath ?? null,
      namePointer: m.namePointer ?? null,
      versionPointer: m.versionPointer ?? null,
      checksumPointer: m.checksumPointer ?? null,
    },
    managementPort: h.managementPort,
    grpcService: h.grpcService,
  };
}

/** Reads the PEM files (checks.ts has already verified that they exist, can be read and make a TLS context). */
function upstreamTls(t: ParsedPool['tls'], source: string): UpstreamTlsConfig | null {
  if (t === undefined) return null;
  const read = (file: string | undefined): Buffer | null => (file === undefined ? null : readFileSync(resolve(dirname(source), file)));
  return { ca: read(t.ca), cert: read(t.cert), key: read(t.key), servername: t.servername ?? null, verify: t.verify };
}

function warmup(w: ParsedPool['warmup'], source: string): WarmupConfig | null {
  if (w === undefined) return null;
  // checks.ts has already verified that the file exists and that body/bodyFile are not both set.
  const body = w.bodyFile !== undefined ? readFileSync(resolve(dirname(source), w.bodyFile)) : w.body !== undefined ? Buffer.from(w.body) : null;
  return { requests: w.requests, method: w.method.toUpperCase(), path: w.path, headers: w.headers, body, timeoutMs: w.timeout, concurrency: w.concurrency };
}

const upper = (methods: readonly string[]): Set<string> => new Set(methods.map((m) => m.toUpperCase()));

function pool(name: string, p: ParsedPool, source: string): PoolConfig {
  return {
    name,
    balance: p.balance,
    protocol: p.protocol,
    tls: upstreamTls(p.tls, source),
    hostHeader: p.hostHeader === '' ? null : p.hostHeader,
    groups: groups(name, p),
    timeouts: { connectMs: p.timeouts.connect, firstByteMs: p.timeouts.firstByte, idleMs: p.timeouts.idle, totalMs: p.timeouts.total },
    requestBody: { bufferBytes: p.requestBody.buffer, bufferTotalBytes: p.requestBody.bufferTotal, idleMs: p.requestBody.idle, minRateBytes: p.requestBody.minRate },
    upstream: { connections: p.upstream.connections, keepAliveMs: p.upstream.keepAlive, pipelining: p.upstream.pipelining },
    retry: {
      attempts: p.retry.attempts,
      methods: upper(p.retry.methods),
      nonIdempotent: p.retry.nonIdempotent,
      budgetPercent: p.retry.budget,
      minRetryConcurrency: p.retry.minRetryConcurrency,
      bufferBodyBytes: p.retry.bufferBody,
      onStatus: new Set(p.retry.onStatus),
    },
    health: healthSpec(p.health),
    warmup: warmup(p.warmup, source),
    slowStartMs: p.slowStart ?? p.warmup?.slowStart ?? 0,
    queue: p.queue === false ? null : { max: p.queue.max, timeoutMs: p.queue.timeout },
    overload: overload(p.overload),
    affinity: prefixAffinity(p.affinity),
    maxConcurrent: p.maxConcurrent,
    outlier: outlier(p.outlier),
    sticky: sticky(p.sticky),
    pin: pin(p.pinHeader),
    maxBodyBytes: p.maxBodySize,
    load: load(p),
  };
}

/**
 * The pool's load block. Scraping runs for a load-aware pool, or any pool that writes `load:` (prefix affinity and
 * overload read the same signals), unless the adapter is none; the adapter defaults from the health preset.
 */
export function load(p: Pick<ParsedPool, 'load' | 'balance' | 'health'>): LoadConfig {
  const l = p.load ?? loadSchema.parse({});
  const preset = p.health.preset;
  const name = l.adapter ?? (preset === 'vllm' || preset === 'tgi' || preset === 'triton' ? preset : 'none');
  const wanted = p.load !== undefined || p.balance === 'load-aware';
  const picker = { weights: { ...l.weights }, scoreAllUpTo: l.scoreAllUpTo };
  if (!wanted || name === 'none') return { scrape: null, staleAfterMs: l.staleAfter, picker };
  const base: AdapterSpec = name === 'generic' ? { name, queued: null, running: null, kvUsage: null, labels: {}, metricsPort: null } : ADAPTERS[name];
  const m = l.metrics;
  const count = (names: string[] | undefined, own: SignalSource | null): SignalSource | null => (names === undefined ? own : { metrics: names, aggregate: 'sum', scale: 1 });
  const adapter: AdapterSpec = m === undefined ? base : {
    ...base,
    queued: count(m.queued, base.queued),
    running: count(m.running, base.running),
    kvUsage: m.kvCache !== undefined ? { metrics: m.kvCache, aggregate: 'mean', scale: m.kvCacheScale } : base.kvUsage === null ? null : { ...base.kvUsage, scale: m.kvCacheScale },
    labels: m.labels,
  };
  return {
    scrape: { adapter, path: l.path, port: l.port ?? adapter.metricsPort, intervalMs: l.interval, timeoutMs: l.timeout, maxBodyBytes: l.maxBodySize },
    staleAfterMs: l.staleAfter,
    picker,
  };
}

/** Host header value without its port, lower-cased ("API.example.com:8080" -> "api.example.com"). */
function bareHost(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const colon = h.indexOf(':');
  return colon === -1 ? h : h.slice(0, colon);
}

function routes(parsed: ParsedConfig): RouteConfig[] {
  // No routes means everything goes to the only pool: an explicit catch-all keeps the router simple.
  if (!parsed.routes || parsed.routes.length === 0) {
    const only = Object.keys(parsed.pools)[0];
    return only === undefined ? [] : [{ name: '', match: { pathPrefix: null, path: null, host: null, headers: [], methods: null }, pool: only }];
  }
  return parsed.routes.map(({ name, match, pool: target }, i) => ({
    name: name ?? `route${i}`,
    pool: target,
    match: {
      pathPrefix: match.pathPrefix ?? null,
      path: match.path ?? null,
      host: match.host === undefined ? null : bareHost(match.host),
      headers: Object.entries(match.headers ?? {}).map(([k, v]): [string, string] => [k.toLowerCase(), v]),
      methods: match.methods ? upper(match.methods) : null,
    },
  }));
}

function listeners(parsed: ParsedConfig['listen'], source: string): ListenerConfig[] {
  const at = (file: string): string => resolve(dirname(source), file);
  return (Array.isArray(parsed) ? parsed : [parsed]).map((l) => {
    if (!('address' in l)) return { ...l, tls: null, http2: true, maxConnections: 'auto', maxConnectionsPerClient: 'auto' };
    const t = l.tls;
    return {
      ...l.address,
      tls: t === undefined ? null : { certFile: at(t.cert), keyFile: at(t.key), caFile: t.ca === undefined ? null : at(t.ca), clientAuth: t.clientAuth, minVersion: t.minVersion },
      http2: l.http2,
      maxConnections: l.maxConnections,
      maxConnectionsPerClient: l.maxConnectionsPerClient,
    };
  });
}

/** `true` is the compatible spelling of stdout JSON; a file path is relative to the configuration file. */
function accessLog(a: ParsedConfig['log']['accessLog'], source: string): AccessLogConfig | false {
  if (a === false) return false;
  if (a === true) return { to: 'stdout', format: 'json' };
  const to = a.to === 'stdout' || a.to === 'stderr' ? a.to : resolve(dirname(source), a.to);
  return { to, format: a.format };
}

export function normalise(parsed: ParsedConfig, source: string): Config {
  return {
    source,
    listeners: listeners(parsed.listen, source),
    admin: { listen: parsed.admin.listen, token: parsed.admin.token === '' ? null : parsed.admin.token },
    server: {
      keepAliveTimeoutMs: parsed.server.keepAliveTimeout,
      headersTimeoutMs: parsed.server.headersTimeout,
      requestTimeoutMs: parsed.server.requestTimeout,
      maxHeaderBytes: parsed.server.maxHeaderSize,
      h2MaxConcurrentStreams: parsed.server.http2.maxConcurrentStreams,
    },
    shutdown: { drainTimeoutMs: parsed.shutdown.drainTimeout, graceMs: parsed.shutdown.grace },
    log: { level: parsed.log.level, accessLog: accessLog(parsed.log.accessLog, source), redactQuery: parsed.log.redactQuery.map((n) => n.toLowerCase()) },
    trustedProxies: parsed.trustedProxies,
    routes: routes(parsed),
    pools: new Map(Object.entries(parsed.pools).map(([name, p]) => [name, pool(name, p, source)])),
    workers: parsed.workers,
    stateFile: parsed.stateFile === undefined ? null : resolve(dirname(source), parsed.stateFile),
    coordination: parsed.coordination === undefined
      ? null
      : { etcd: { endpoints: parsed.coordination.etcd.endpoints, prefix: parsed.coordination.etcd.prefix.endsWith('/') ? parsed.coordination.etcd.prefix : `${parsed.coordination.etcd.prefix}/`, leaseMs: parsed.coordination.etcd.lease } },
  };
}

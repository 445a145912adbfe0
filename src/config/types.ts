// The normalised configuration every other module reads: durations in ms, sizes in bytes, URLs parsed.

import type { LoadAwareOptions } from '../balancer/load-aware.js';
import type { AdapterSpec } from '../signals/adapters.js';

export type BalanceAlgorithm = 'round-robin' | 'random' | 'least-request' | 'load-aware';
export type HealthPreset = 'http' | 'torchserve' | 'kserve-v2' | 'triton' | 'vllm' | 'tgi' | 'grpc';
/** Protocol to the backends: HTTP/1.1, or HTTP/2 (h2c prior knowledge to http://, ALPN over TLS to https://). */
export type UpstreamProtocol = 'http1' | 'h2';

export interface ListenAddress {
  host: string;
  port: number;
}


/** A body check: substring, or a JSON pointer that must hold a value. */
export type BodyExpectation =
  | { kind: 'substring'; text: string }
  | { kind: 'json'; pointer: string; equals: string | number | boolean };

/** A probe as written: path/method/expectStatus/expectBody undefined = take the preset's. */
export interface ProbeSpec {
  path?: string;
  method?: string;
  intervalMs: number;
  timeoutMs: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
  expectStatus?: number[] | null;
  expectBody?: BodyExpectation | null;
  headers: Record<string, string>;
}

export interface ModelConfig {
  name: string | null;
  version: string | null;
  md5: string | null;
  metadataPath: string | null;
  namePointer: string | null;
  versionPointer: string | null;
  checksumPointer: string | null;
}

/** Health as configured; health/resolve.ts merges it with the preset into concrete probes. */
export interface HealthSpec {
  preset: HealthPreset;
  jitter: number;
  /** false = none; null = the preset's default. */
  startup: ProbeSpec | false | null;
  readiness: ProbeSpec;
  liveness: ProbeSpec | false | null;
  startupTimeoutMs: number;
  model: ModelConfig | null;
  managementPort: number;
  /** Service name asked by preset grpc (grpc.health.v1); '' = the whole server. */
  grpcService: string;
}

/** TLS to https:// backends, files already read (at load and at every reload). */
export interface UpstreamTlsConfig {
  /** PEM CA bundle; null = the system CAs. */
  ca: Buffer | null;
  /** PEM client certificate and key for mutual TLS; both or neither. */
  cert: Buffer | null;
  key: Buffer | null;
  /** SNI and the name checked in the certificate; null = the backend host. */
  servername: string | null;
  /** false accepts any certificate. */
  verify: boolean;
}

export interface WarmupConfig {
  requests: number;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer | null;
  timeoutMs: number;
  concurrency: number;
}

export interface QueueConfig {
  max: number;
  timeoutMs: number;
}


/** Prefix affinity (`affinity: { prefix }` on a pool); read by affinity/. */
export interface PrefixAffinityConfig {
  /** Characters (UTF-16 code units) per hashed block. */
  blockChars: number;
  maxBlocks: number;
  /** Larger bodies are not parsed (no affinity). */
  maxBodyBytes: number;
  /** Block hashes remembered per backend. */
  perBackend: number;
  /** The preferred backend is given up when its load passes the least loaded one's by both margins. */
  maxImbalanceAbsolute: number;
  maxImbalanceRelative: number;
  /** A prompt no backend holds: the pool's balancer picks, or the rendezvous hash of its first block (agrees across processes). */
  onMiss: 'balancer' | 'hash';
}

/** What to do when every backend is past its thresholds (`overload:` on a pool); read by overload/. */
export interface OverloadConfig {
  /** Server queue length at or above which a backend is past its threshold; 0 = not judged. */
  queue: number;
  /** Server KV-cache use (0-1) at or above which a backend is past its threshold; 0 = not judged. */
  kvUsage: number;
  /** Without fresh server metrics: infergate's in-flight at or above which; 0 = off. */
  inflight: number;
  /** Lower-cased header name. */
  priorityHeader: string;
  /** Priority values shed (503) rather than held. */
  shed: Set<string>;
}

export interface BackendConfig {
  /** Stable id: `${pool}.${group}.${host}:${port}` (see DESIGN.md). */
  id: string;
  url: URL;
  /** Origin used by undici, e.g. `http://127.0.0.1:9101`. */
  origin: string;
  weight: number;
  /** Requests in flight before new ones wait; 0 = unlimited. */
  maxConcurrent: number;
}

/** A canary rollout (`rollout:` on a group); read by rollout/. */
export interface RolloutSpec {
  /** Canary weights in percent, ascending, each in (0, 100]. Reaching 100 (or passing the last step) is promotion. */
  steps: number[];
  /** Time between two checks; each check looks at the requests since the previous conclusive check. */
  intervalMs: number;
  /**
   * Samples a check needs per criterion and side: canary (and, for the comparisons, stable) requests for the error
   * criteria, successful requests (latency samples) for the latency one. With fewer it is inconclusive (waits, no step, no failure).
   */
  minRequests: number;
  /** Canary error rate (0..1) above which, shown with `confidence`, it is rolled back at once. */
  maxErrorRate: number;
  /** Canary error rate / stable error rate (stable floored, see rollout/analysis.ts ERROR_RATE_FLOOR); null = off. */
  maxErrorRatio: number | null;
  /** Canary error rate - stable error rate (0..1) at or below which the ratio is not a regression. */
  minErrorIncrease: number;
  /** Canary latency / stable latency at the compared quantile; null = off. */
  maxLatencyRatio: number | null;
  /** Canary latency - stable latency (ms) at or below which the ratio is not a regression. */
  minLatencyIncreaseMs: number;
  /** Quantile compared by maxLatencyRatio, 0 < q <= 1 (0.99 = p99); lowered while the samples are too few for it. */
  latencyQuantile: number;
  /** Confidence a difference needs before it counts (1 - the significance level of every test). */
  confidence: number;
  /** Failed checks (cumulative during one rollout) that roll back; an absolute error-rate breach rolls back at once. */
  failureThreshold: number;
  /** auto: starts when the canary has a READY backend; manual: waits for an operator start. */
  start: 'auto' | 'manual';
}

export interface FailureRateSpec {
  /** Error share (0..1] at or above which a backend is ejected. */
  threshold: number;
  /** Fewer requests than this in the window: no verdict. */
  minRequests: number;
  /** Sliding window the rate is judged over. */
  windowMs: number;
}

/** Passive outlier ejection (`outlier:` on a pool); read by outlier/. */
export interface OutlierSpec {
  /** Consecutive server errors (gateway errors included) that eject; 0 = detector off. */
  consecutive5xx: number;
  /** Consecutive gateway errors that eject; 0 = detector off. */
  consecutiveGatewayErrors: number;
  /** null = detector off. */
  failureRate: FailureRateSpec | null;
  baseEjectionTimeMs: number;
  /** Cap on baseEjectionTimeMs x n; never below baseEjectionTimeMs (normalise raises it). */
  maxEjectionTimeMs: number;
  /** 0..100; at least one backend may always be ejected unless this is 0. */
  maxEjectionPercent: number;
  /** Period of the sweep: failure-rate verdicts and decay of the back-off multiplier. */
  intervalMs: number;
}

export interface StickyConfig {
  kind: 'header' | 'cookie' | 'query';
  /** Header names lower-cased. */
  name: string;
}

export interface PinConfig {
  /** Lower-cased header name. */
  header: string;
  allow: Set<string>;
}

export interface DiscoverConfig {
  dns: string;
  port: number;
  intervalMs: number;
  scheme: 'http' | 'https';
  weight: number;
}

export interface GroupConfig {
  name: string;
  weight: number;
  /** Static backends; empty when the group is discovered. */
  backends: BackendConfig[];
  /** DNS discovery instead of a static list, or null. */
  discover: DiscoverConfig | null;
  rollout: RolloutSpec | null;
  /** Overrides of the pool's health.model for this group (null fields keep the pool's). */
  model: { name: string | null; version: string | null; md5: string | null } | null;
}

export interface TimeoutsConfig {
  connectMs: number;
  /** Request sent -> response headers, and -> the first body byte (first complete event of an event stream). */
  firstByteMs: number;
  /** Longest gap between two response body chunks once the first has arrived. */
  idleMs: number;
  /** Whole exchange; 0 = no limit. */
  totalMs: number;
}

/** How request bodies are read from clients (`requestBody:` on a pool). */
export interface RequestBodyConfig {
  /** Bodies with a Content-Length up to this are read whole before a backend is picked; 0 = stream all. */
  bufferBytes: number;
  /** Bytes of buffered bodies held at once by the pool. */
  bufferTotalBytes: number;
  /** Longest gap between two reads of the body. */
  idleMs: number;
  /** Bytes per second the body must average after its first idleMs; 0 = off. */
  minRateBytes: number;
}

export interface UpstreamConfig {
  /** Connection limit per backend. */
  connections: number;
  /** Keep-alive for idle pooled sockets; keep it shorter than the backend's own. */
  keepAliveMs: number;
  pipelining: number;
}

export interface RetryConfig {
  /** Total tries including the first (1 = no retry). */
  attempts: number;
  /** Upper-case methods that may be retried after a failure the backend may have acted on. */
  methods: Set<string>;
  /** Every method may be retried after any retryable failure (pure inference pools). */
  nonIdempotent: boolean;
  /** Retries allowed as a share of requests in flight + recent, percent (Envoy-style budget). */
  budgetPercent: number;
  /** Retries in flight always allowed regardless of the budget (Envoy's min_retry_concurrency). */
  minRetryConcurrency: number;
  /** Largest request body kept in memory so that it can be replayed. */
  bufferBodyBytes: number;
  /** Backend response statuses retried on another backend (e.g. 503 from a reloading model server). */
  onStatus: Set<number>;
}

export interface PoolConfig {
  name: string;
  balance: BalanceAlgorithm;
  protocol: UpstreamProtocol;
  /** TLS settings for https:// backends; null = defaults (system CAs, verify, SNI from the host). */
  tls: UpstreamTlsConfig | null;
  /** Replace the Host header sent upstream; null keeps the client's. */
  hostHeader: string | null;
  groups: GroupConfig[];
  timeouts: TimeoutsConfig;
  requestBody: RequestBodyConfig;
  upstream: UpstreamConfig;
  retry: RetryConfig;
  health: HealthSpec;
  warmup: WarmupConfig | null;
  /** Weight ramp after a backend becomes READY; 0 = off. */
  slowStartMs: number;
  /** null = no queue: 503 at once when nothing is READY. */
  queue: QueueConfig | null;
  /** null = overload handling off. */
  overload: OverloadConfig | null;
  /** null = no prefix affinity. */
  affinity: PrefixAffinityConfig | null;
  /** Default per-backend in-flight limit (backends found by discovery take it); 0 = unlimited. */
  maxConcurrent: number;
  /** null = outlier ejection off. */
  outlier: OutlierSpec | null;
  sticky: StickyConfig | null;
  pin: PinConfig | null;
  /** Largest request body accepted (413 above); 0 = unlimited. */
  maxBodyBytes: number;
  load: LoadConfig;
}

/** Scraping of each READY backend's metrics for its ServerLoad (signals/scraper.ts). */
export interface ScrapeConfig {
  adapter: AdapterSpec;
  path: string;
  /** Port of the metrics endpoint; null = the backend's own. */
  port: number | null;
  intervalMs: number;
  timeoutMs: number;
  maxBodyBytes: number;
}

/** `load:` of a pool: what balance load-aware weighs, and where its server signals come from. */
export interface LoadConfig {
  /** null = no scraping (adapter none, or a pool neither load-aware nor with a load block). */
  scrape: ScrapeConfig | null;
  /** A ServerLoad older than this is ignored (Backend.serverLoad() answers undefined). */
  staleAfterMs: number;
  picker: LoadAwareOptions;
}

export interface RouteMatch {
  pathPrefix: string | null;
  path: string | null;
  /** Lower-case host without port. */
  host: string | null;
  /** Lower-case header name -> exact value. */
  headers: Array<[string, string]>;
  methods: Set<string> | null;
}

export interface RouteConfig {
  /** The route label of metrics: as written, else route<position>; '' for the implicit catch-all of a single pool. */
  name: string;
  match: RouteMatch;
  pool: string;
}

export interface ServerConfig {
  keepAliveTimeoutMs: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  maxHeaderBytes: number;
  /** SETTINGS_MAX_CONCURRENT_STREAMS offered to HTTP/2 clients. */
  h2MaxConcurrentStreams: number;
}

export interface ListenerTlsConfig {
  /** Absolute paths of PEM files. */
  certFile: string;
  keyFile: string;
  caFile: string | null;
  clientAuth: 'none' | 'optional' | 'require';
  minVersion: 'TLSv1.2' | 'TLSv1.3';
}

/** One proxy listener. */
export interface ListenerConfig extends ListenAddress {
  tls: ListenerTlsConfig | null;
  /** h2 via ALPN with TLS, h2c with prior knowledge without. */
  http2: boolean;
  /** 'auto' is resolved when the listener starts (from the process file-descriptor limit); 0 = unlimited. */
  maxConnections: number | 'auto';
  maxConnectionsPerClient: number | 'auto';
}

export interface AdminConfig {
  listen: ListenAddress;
  token: string | null;
}

/** Where access lines go and how they look; `to` is 'stdout', 'stderr' or an absolute file path. */
export interface AccessLogConfig {
  to: string;
  format: 'json' | 'combined';
}

export interface LogConfig {
  level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  /** false = no access log. */
  accessLog: AccessLogConfig | false;
  /** Query parameter names (lower case) whose values the access log replaces by REDACTED. */
  redactQuery: string[];
}

export interface Config {
  /** File the config came from (for messages). */
  source: string;
  /** The proxy listeners (at least one); the first is "the" listen address of logs and `start()`. */
  listeners: ListenerConfig[];
  admin: AdminConfig;
  server: ServerConfig;
  shutdown: {
    drainTimeoutMs: number;
    /** After SIGTERM, keep accepting this long (readiness 503) before the drain; 0 = drain at once. */
    graceMs: number;
  };
  log: LogConfig;
  /** Peers (IP or CIDR) whose X-Forwarded-For is believed; empty = the peer is the client. */
  trustedProxies: string[];
  routes: RouteConfig[];
  pools: Map<string, PoolConfig>;
  /** Worker processes: 1 = one process; `auto` = one per core (workers/run.ts). */
  workers: number | 'auto';
  /** Absolute path of the rollout state file, or null. */
  stateFile: string | null;
  /** Shared rollouts and ejections through etcd (coordination/), or null: this replica decides alone. */
  coordination: CoordinationConfig | null;
}

export interface CoordinationConfig {
  etcd: {
    endpoints: string[];
    /** Key prefix, ending with '/'. */
    prefix: string;
    leaseMs: number;
  };
}

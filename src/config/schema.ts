// The zod schema of the YAML file: shapes, defaults and per-value checks (cross-field checks live in checks.ts).

import * as z from 'zod';
import { parseBackendUrl, parseDuration, parseListen, parseSize, type Parsed } from './units.js';

function fromParsed<T>(parse: (v: number | string) => Parsed<T>) {
  return (value: number | string, ctx: z.core.$RefinementCtx<number | string>): T => {
    const r = parse(value);
    if (r.ok) return r.value;
    ctx.issues.push({ code: 'custom', message: r.message, input: value });
    return z.NEVER;
  };
}

/** Milliseconds as a number, or a string such as "500ms", "2s", "1m". */
export function duration(description: string) {
  return z
    .union([z.number().min(0), z.string()], { error: (iss) => `invalid duration ${JSON.stringify(iss.input)} (use e.g. 500ms, 2s, 1m)` })
    .transform(fromParsed(parseDuration))
    .describe(`${description} Milliseconds, or a string like 500ms, 2s, 1m.`);
}

/** Bytes as a number, or a string such as "16kb", "1mb". */
export function size(description: string) {
  return z
    .union([z.int().min(0), z.string()], { error: (iss) => `invalid size ${JSON.stringify(iss.input)} (use e.g. 512, 16kb, 1mb)` })
    .transform(fromParsed(parseSize))
    .describe(`${description} Bytes, or a string like 16kb, 1mb.`);
}

function listen(description: string) {
  return z
    .union([z.int().min(1).max(65535), z.string()], { error: (iss) => `invalid listen address ${JSON.stringify(iss.input)} (use host:port, :port or a port 1-65535)` })
    .transform(fromParsed(parseListen))
    .describe(`${description} "host:port", ":port" (all interfaces) or a port number.`);
}

const count = (min: number) => z.int().min(min);
const httpMethod = z.string().regex(/^[A-Za-z]+$/, { error: (iss) => `invalid HTTP method ${JSON.stringify(iss.input)}` });
const urlPath = z.string().startsWith('/');
/** Pool and group names end up in backend ids (`pool.group.host:port`), so no dots or spaces. */
const name = z.string().regex(/^[A-Za-z0-9_-]+$/, {
  error: (iss) => `invalid name ${JSON.stringify(iss.input)} (use letters, digits, - and _)`,
});
const stringMap = z.record(z.string(), z.string());

const backendUrl = z.string().superRefine((text, ctx) => {
  const r = parseBackendUrl(text);
  if (!r.ok) ctx.addIssue({ code: 'custom', message: r.message, input: text });
});

const backend = z
  .union(
    [
      backendUrl,
      z.strictObject({
        url: backendUrl.describe('Backend origin, e.g. http://127.0.0.1:9101.'),
        weight: z.int().min(0).max(1000).default(1).describe('Relative share within its group (0 = no new traffic).'),
      }),
    ],
    { error: 'a backend is a URL string or { url, weight }' },
  )
  .describe('A backend origin (http://host:port) or { url, weight }.');

const backendList = z.array(backend).describe('Backends of this pool or group.');

const group = z
  .strictObject({
    weight: z.int().min(0).max(100).default(100).describe('Share of the pool\'s traffic, 0-100 (canary weight).'),
    backends: backendList,
  })
  .describe('A set of backends serving one model version.');

const probe = z
  .strictObject({
    path: urlPath.default('/health').describe('Path probed on each backend.'),
    method: httpMethod.default('GET').describe('HTTP method of the probe.'),
    interval: duration('Time between probes.').prefault('2s'),
    timeout: duration('Probe timeout.').prefault('1s'),
    healthyThreshold: count(1).default(2).describe('Consecutive passes before a backend becomes ready.'),
    unhealthyThreshold: count(1).default(3).describe('Consecutive failures before a ready backend is taken out.'),
    expectStatus: z
      .array(z.int().min(100).max(599))
      .min(1)
      .nullable()
      .default(null)
      .describe('Status codes that pass; null or omitted means any 2xx.'),
    expectBody: z.string().nullable().default(null).describe('Substring the probe body must contain, or null.'),
    headers: stringMap.default({}).describe('Extra request headers sent with each probe.'),
  })
  .describe('Readiness probe: only backends passing it take traffic.');

const health = z
  .strictObject({
    preset: z
      .enum(['http', 'torchserve', 'kserve-v2', 'triton', 'vllm', 'tgi'])
      .default('http')
      .describe('Model-server flavour of the checks.'),
    jitter: z.number().min(0).max(0.5).default(0.1).describe('Random spread of probe intervals as a fraction (0.1 = +-10%).'),
    readiness: probe.prefault({}),
  })
  .describe('Active health checking.');

const timeouts = z
  .strictObject({
    connect: duration('TCP/TLS connect timeout.').prefault('5s'),
    firstByte: duration('Request sent -> response headers.').prefault('120s'),
    idle: duration('Longest gap between two body chunks.').prefault('60s'),
    total: duration('Whole exchange; 0 = no limit.').prefault(0),
  })
  .describe('Upstream timeouts.');

const upstream = z
  .strictObject({
    connections: count(1).default(64).describe('Connection limit per backend.'),
    keepAlive: duration('Idle pooled socket lifetime; keep it below the backend\'s own.').prefault('4s'),
    pipelining: count(1).default(1).describe('Requests in flight per connection.'),
  })
  .describe('Connection pool to each backend.');

const retry = z
  .strictObject({
    attempts: count(1).default(2).describe('Total tries including the first (1 = no retry).'),
    methods: z.array(httpMethod).default(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']).describe('Methods that may be retried.'),
    budget: z.number().min(0).max(100).default(20).describe('Retries allowed as a percent of active requests.'),
    minRetryConcurrency: z.int().min(0).default(3).describe('Retries in flight always allowed, whatever the budget (Envoy min_retry_concurrency).'),
    bufferBody: size('Largest request body kept in memory for replay.').prefault('64kb'),
  })
  .describe('Retries of failed requests on another backend.');

export const poolSchema = z
  .strictObject({
    balance: z.enum(['round-robin', 'random', 'least-request']).default('least-request').describe('Load-balancing algorithm.'),
    hostHeader: z.string().nullable().default(null).describe('Host header sent upstream; null keeps the client\'s.'),
    maxBodySize: size('Largest request body accepted (413 above); 0 = unlimited.').prefault(0),
    timeouts: timeouts.prefault({}),
    upstream: upstream.prefault({}),
    retry: retry.prefault({}),
    health: health.prefault({}),
    backends: backendList.optional().describe('Backends of a pool with a single group (named "default"). Use this or groups.'),
    groups: z.record(name, group).optional().describe('Named groups with weights (e.g. stable and canary). Use this or backends.'),
  })
  .describe('A set of replicas serving the same API.');

const match = z
  .strictObject({
    pathPrefix: urlPath.optional().describe('Request path starts with this.'),
    path: urlPath.optional().describe('Request path equals this.'),
    host: z.string().min(1).optional().describe('Host header (port ignored, case-insensitive).'),
    headers: stringMap.optional().describe('Headers that must have these exact values.'),
    methods: z.array(httpMethod).min(1).optional().describe('Allowed request methods.'),
  })
  .describe('Conditions, all of which must hold; {} matches everything.');

const route = z
  .strictObject({
    match: match.prefault({}),
    pool: z.string().describe('Pool that serves matching requests.'),
  })
  .describe('A route: first match wins.');

export const configSchema = z
  .strictObject({
    listen: listen('Address of the proxy listener.').prefault('127.0.0.1:8080'),
    admin: z
      .strictObject({
        listen: listen('Address of the admin listener (metrics, status, admin API).').prefault('127.0.0.1:9901'),
        token: z.string().nullable().default(null).describe('Bearer token for the admin API; required unless admin.listen is loopback.'),
      })
      .prefault({})
      .describe('Admin listener.'),
    server: z
      .strictObject({
        keepAliveTimeout: duration('Client keep-alive timeout.').prefault('5s'),
        headersTimeout: duration('Time allowed to receive request headers.').prefault('10s'),
        requestTimeout: duration('Time allowed to receive the whole request; 0 = off.').prefault('5m'),
        maxHeaderSize: size('Largest request header block.').prefault('16kb'),
      })
      .prefault({})
      .describe('Client-side HTTP server settings.'),
    shutdown: z
      .strictObject({ drainTimeout: duration('Time in-flight requests get to finish on SIGTERM.').prefault('30s') })
      .prefault({})
      .describe('Graceful shutdown.'),
    log: z
      .strictObject({
        level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info').describe('Log level.'),
        accessLog: z.boolean().default(true).describe('Log one line per request.'),
      })
      .prefault({})
      .describe('Logging.'),
    routes: z.array(route).optional().describe('Routes, first match wins; omitted = everything to the only pool.'),
    pools: z.record(name, poolSchema).describe('Pools of backends by name.'),
  })
  .meta({
    title: 'infergate configuration',
    description: 'Configuration of infergate, a Layer-7 load balancer for ML inference servers.',
  });

export type ParsedConfig = z.output<typeof configSchema>;
export type ParsedPool = z.output<typeof poolSchema>;

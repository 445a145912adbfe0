// The zod schema of the YAML file: shapes, defaults and per-value checks (cross-field checks live in checks.ts).

import * as z from 'zod';
import { show } from './errors.js';
import { checkIpOrCidr, parseBackendUrl, parseDuration, parseListen, parseSize, type Parsed } from './units.js';

function fromParsed<T>(parse: (v: number | string) => Parsed<T>) {
  return (value: number | string, ctx: z.core.$RefinementCtx<number | string>): T => {
    const r = parse(value);
    if (r.ok) return r.value;
    // continue: the value had the right type, so a `false | {...}` union (outlier, queue) reports this, not "Invalid input".
    ctx.issues.push({ code: 'custom', message: r.message, input: value, continue: true });
    return z.NEVER;
  };
}

/** A string with a unit such as "500ms", "2s", "1m", "1h30m" (a bare number is refused, but 0); below minMs is an error. */
export function duration(description: string, minMs = 0) {
  const parse = (value: number | string): Parsed<number> => {
    const r = parseDuration(value);
    return r.ok && r.value < minMs ? { ok: false, message: `must be at least ${minMs}ms (got ${show(value)})` } : r;
  };
  return z
    .union([z.number().min(0), z.string()], { error: (iss) => `invalid duration ${JSON.stringify(iss.input)} (use e.g. 500ms, 2s, 1m, 1h30m)` })
    .transform(fromParsed(parse))
    .describe(`${description} A duration with its unit: 500ms, 2s, 1m, 1h30m (0 alone is allowed).`);
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
    .union([z.int().min(0).max(65535), z.string()], { error: (iss) => `invalid listen address ${JSON.stringify(iss.input)} (use host:port, :port or a port 0-65535; 0 = any free port)` })
    .transform(fromParsed(parseListen))
    .describe(`${description} "host:port", ":port" (all interfaces) or a port number.`);
}


const listenerTls = z
  .strictObject({
    cert: z.string().min(1).describe('PEM certificate chain file (relative to this file). Re-read on SIGHUP and when the file changes.'),
    key: z.string().min(1).describe('PEM private key file (relative to this file).'),
    ca: z.string().min(1).optional().describe('PEM CA bundle that client certificates must chain to (with clientAuth).'),
    clientAuth: z.enum(['none', 'optional', 'require']).default('none').describe('Client certificates: none, optional (verified when sent) or require (mTLS).'),
    minVersion: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2').describe('Oldest TLS version accepted.'),
  })
  .describe('TLS on this listener; ALPN offers h2 (when http2 is on) and http/1.1.');

const connectionLimit = (description: string) =>
  z.union([z.literal('auto'), z.int().min(0)], { error: (iss) => `invalid connection limit ${JSON.stringify(iss.input)} (use auto, 0 = unlimited, or a number)` }).default('auto').describe(description);

const listener = z
  .union(
    [
      listen('Address of the proxy listener.'),
      z.strictObject({
        address: listen('Address of this listener.'),
        tls: listenerTls.optional(),
        http2: z.boolean().default(true).describe('Accept HTTP/2: h2 through ALPN with tls, h2c with prior knowledge without.'),
        maxConnections: connectionLimit('Open client connections on this listener; more are closed at once and counted. auto = half the process file-descriptor limit (the rest is for backends, probes and logs); 0 = unlimited.'),
        maxConnectionsPerClient: connectionLimit('Open connections from one client address; auto = half of maxConnections; 0 = unlimited.'),
      }),
    ],
    { error: 'a listener is "host:port" or { address, tls, http2, maxConnections, maxConnectionsPerClient }' },
  )
  .describe('A proxy listener: "host:port" or { address, tls, ... }.');

const count = (min: number) => z.int().min(min);
const httpMethod = z.string().regex(/^[A-Za-z]+$/, { error: (iss) => `invalid HTTP method ${JSON.stringify(iss.input)}` });
const urlPath = z.string().startsWith('/');
/** Pool and group names end up in backend ids (`pool.group.host:port`), so no dots or spaces. */
const name = z.string().regex(/^[A-Za-z0-9_-]+$/, {
  error: (iss) => `invalid name ${JSON.stringify(iss.input)} (use letters, digits, - and _)`,
});
const stringMap = z.record(z.string(), z.string());
/** Query parameters that carry credentials in the wild (API keys, OAuth tokens, S3 / GCS signed URLs). */
const DEFAULT_REDACTED_QUERY = ['token', 'api_key', 'apikey', 'access_token', 'signature', 'sig', 'key', 'password', 'secret', 'x-amz-signature', 'x-goog-signature'];
const ipOrCidr = z.string().superRefine((text, ctx) => {
  const message = checkIpOrCidr(text);
  if (message !== null) ctx.addIssue({ code: 'custom', message, input: text });
});

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
        maxConcurrent: count(0).optional().describe('Overrides the pool\'s maxConcurrent for this backend.'),
      }),
    ],
    { error: 'a backend is a URL string or { url, weight, maxConcurrent }' },
  )
  .describe('A backend origin (http://host:port) or { url, weight, maxConcurrent }.');

const backendList = z.array(backend).describe('Backends of this pool or group.');

const discover = z
  .strictObject({
    dns: z.string().min(1).describe('DNS name whose addresses are the backends (e.g. a Kubernetes headless service).'),
    port: z.int().min(1).max(65535).describe('Port of every discovered backend.'),
    interval: duration('Time between two DNS look-ups.').prefault('10s'),
    scheme: z.enum(['http', 'https']).default('http').describe('Scheme of every discovered backend.'),
    weight: z.int().min(0).max(1000).default(1).describe('Weight of every discovered backend.'),
  })
  .describe('Backends found by DNS instead of a static list: new addresses start LOADING, gone ones drain.');

export const rolloutSchema = z
  .strictObject({
    steps: z
      .array(z.number().gt(0).max(100))
      .min(1)
      .default([10, 25, 50, 100])
      .superRefine((steps, ctx) => {
        for (let i = 1; i < steps.length; i++) {
          if (steps[i]! <= steps[i - 1]!) ctx.addIssue({ code: 'custom', message: `steps must increase (${steps[i]} after ${steps[i - 1]})`, path: [i] });
        }
      })
      .describe('Canary weights in percent, increasing; reaching 100 (or passing the last step) promotes.'),
    interval: duration('Time between two checks of canary against stable.', 1).prefault('1m'),
    minRequests: count(1)
      .default(50)
      .describe('Samples a check needs per criterion and side: requests for the error criteria, successful requests for latency; with fewer it waits.'),
    maxErrorRate: z.number().min(0).max(1).default(0.05).describe('Canary error rate above which (shown at `confidence`) it is rolled back at once.'),
    maxErrorRatio: z
      .number()
      .min(1)
      .nullable()
      .default(2)
      .describe('Canary error rate / stable error rate (stable floored at 1%) above which, with minErrorIncrease and confidence, a check fails; null = off.'),
    minErrorIncrease: z
      .number()
      .min(0)
      .max(1)
      .default(0.01)
      .describe('Canary error rate minus stable error rate (0..1) at or below which more errors are not a regression, whatever the ratio.'),
    maxLatencyRatio: z
      .number()
      .min(1)
      .nullable()
      .default(1.25)
      .describe('Canary latency / stable latency at the compared quantile above which, with minLatencyIncrease and confidence, a check fails; null = off.'),
    minLatencyIncrease: duration('Canary latency minus stable latency at the compared quantile at or below which it is not a regression, whatever the ratio.').prefault('5ms'),
    latencyQuantile: z
      .number()
      .gt(0)
      .max(1)
      .default(0.99)
      .describe('Quantile compared by maxLatencyRatio (0.99 = p99); lowered while a window has too few samples to estimate it (10 above it per side).'),
    confidence: z
      .number()
      .min(0.5)
      .max(0.9999)
      .default(0.99)
      .describe('Confidence a difference needs before a check counts it (each test at significance 1 - confidence).'),
    failureThreshold: count(1).default(2).describe('Failed checks that roll back (an error-rate breach rolls back at once).'),
    start: z.enum(['auto', 'manual']).default('auto').describe('auto: start once the canary has a READY backend; manual: wait for POST /admin/rollouts/{pool}/{group}/resume.'),
  })
  .describe('Automatic canary rollout: step the weight up, compare with stable, promote or roll back.');

const group = z
  .strictObject({
    weight: z.int().min(0).max(100).default(100).describe('Share of the pool\'s traffic, 0-100 (canary weight).'),
    backends: backendList.optional().describe('The group\'s backends. Use this or discover.'),
    discover: discover.optional(),
    rollout: rolloutSchema.optional(),
    model: z
      .strictObject({
        name: z.string().min(1).optional().describe('Model name this group\'s backends must serve.'),
        version: z.union([z.string(), z.number()]).transform(String).optional().describe('Model version this group\'s backends must report (e.g. the canary\'s new version).'),
        md5: z.string().regex(/^[0-9a-fA-F]{32}$/, { error: 'md5 is 32 hex digits' }).optional().describe('Checksum this group\'s backends must report.'),
      })
      .optional()
      .describe('Overrides of the pool\'s health.model for this group (a canary carries another version).'),
  })
  .describe('A set of backends serving one model version.');

export const outlierSchema = z
  .union([
    z.literal(false),
    z.strictObject({
      consecutive5xx: count(0).default(5).describe('Consecutive 5xx (gateway errors included) that eject; 0 = off.'),
      consecutiveGatewayErrors: count(0).default(3).describe('Consecutive gateway errors (connect failure, reset, timeout, 502/503/504) that eject; 0 = off.'),
      failureRate: z
        .strictObject({
          threshold: z.number().gt(0).max(1).default(0.5).describe('Error share at or above which a backend is ejected.'),
          minRequests: count(1).default(20).describe('Requests in the window needed for a verdict.'),
          window: duration('Sliding window of the failure rate.', 10).prefault('30s'),
        })
        .optional()
        .describe('Failure-rate detector (off unless set), judged every interval.'),
      baseEjectionTime: duration('First ejection time; the n-th ejection lasts n times this.', 1).prefault('30s'),
      maxEjectionTime: duration('Cap on the ejection time.').prefault('300s'),
      maxEjectionPercent: z.number().min(0).max(100).default(10).describe('Most backends of the pool ejected at once, in percent (one is always allowed; never the last READY one).'),
      interval: duration('Sweep period: failure-rate verdicts and decay of the ejection multiplier.', 1).prefault('10s'),
    }),
  ])
  .describe('Passive outlier ejection on real traffic; false = off.');

const sticky = z
  .union([
    z.strictObject({ header: z.string().min(1).describe('Request header holding the user key.') }),
    z.strictObject({ cookie: z.string().min(1).describe('Cookie holding the user key.') }),
    z.strictObject({ query: z.string().min(1).describe('Query parameter holding the user key.') }),
  ], { error: 'sticky takes one of { header }, { cookie } or { query }' })
  .describe('Keep each user on the same group while weights change: the user key is hashed onto the weights.');

const pinHeader = z
  .strictObject({
    name: z.string().min(1).default('x-infergate-group').describe('Request header naming the group.'),
    allow: z.array(name).min(1).describe('Groups that may be chosen this way (e.g. [canary]).'),
  })
  .describe('Let testers reach a group, even at weight 0, with a header; off unless set.');

/** A substring, or `{ json: <JSON pointer>, equals: <value> }` checked against the parsed JSON body. */
const bodyExpectation = z
  .union(
    [
      z.string(),
      z.strictObject({
        json: z.string().regex(/^(\/.*)?$/, { error: 'a JSON pointer starts with / (e.g. /status)' }).describe('JSON pointer (RFC 6901) into the body.'),
        equals: z.union([z.string(), z.number(), z.boolean()]).describe('Value the pointer must hold.'),
      }),
    ],
    { error: 'expectBody is a substring or { json: /pointer, equals: value }' },
  )
  .nullable();

/**
 * A probe as written. path/method/expectStatus/expectBody left out take the preset's value, so
 * `preset: torchserve` with only `interval` set still probes TorchServe's own endpoint.
 */
function probeSchema(role: string, defaults: { interval: string; timeout: string; healthy: number; unhealthy: number }) {
  return z
    .strictObject({
      path: urlPath.optional().describe('Path probed on each backend; default from the preset (http: /health).'),
      method: httpMethod.optional().describe('HTTP method of the probe (default GET).'),
      interval: duration('Time between probes.').prefault(defaults.interval),
      timeout: duration('Probe timeout.').prefault(defaults.timeout),
      healthyThreshold: count(1).default(defaults.healthy).describe('Consecutive passes needed to count as passing.'),
      unhealthyThreshold: count(1).default(defaults.unhealthy).describe('Consecutive failures needed to count as failing.'),
      expectStatus: z
        .array(z.int().min(100).max(599))
        .min(1)
        .nullable()
        .optional()
        .describe('Status codes that pass; null means any 2xx; default from the preset.'),
      expectBody: bodyExpectation.optional().describe('Substring, or { json, equals }, the body must satisfy; default from the preset.'),
      headers: stringMap.default({}).describe('Extra request headers sent with each probe.'),
    })
    .describe(role);
}

const readinessProbe = probeSchema('Readiness probe: READY <-> UNREADY with hysteresis; only READY backends take traffic.', { interval: '1s', timeout: '1s', healthy: 2, unhealthy: 3 });
export const startupProbeSchema = probeSchema('Startup probe: the backend stays LOADING until it passes.', { interval: '1s', timeout: '1s', healthy: 1, unhealthy: 1 });
export const livenessProbeSchema = probeSchema('Liveness probe: failing it takes the backend out at once (infergate cannot restart it).', { interval: '5s', timeout: '2s', healthy: 1, unhealthy: 3 });

const jsonPointer = z.string().regex(/^(\/.*)?$/, { error: 'a JSON pointer starts with / (e.g. /version)' });

const model = z
  .strictObject({
    name: z.string().min(1).optional().describe('Model name the backend must serve (also selects per-model endpoints of the preset).'),
    version: z.union([z.string(), z.number()]).transform(String).optional().describe('Model version the backend must report.'),
    md5: z.string().regex(/^[0-9a-fA-F]{32}$/, { error: 'md5 is 32 hex digits' }).optional().describe('Checksum of the model artifact the backend must report.'),
    metadataPath: urlPath.optional().describe('Where the backend reports its model metadata (JSON); default from the preset.'),
    namePointer: jsonPointer.optional().describe('JSON pointer to the model name in the metadata.'),
    versionPointer: jsonPointer.optional().describe('JSON pointer to the model version in the metadata.'),
    checksumPointer: jsonPointer.optional().describe('JSON pointer to the checksum; default /md5, then /parameters/md5 (TGI: /model_sha).'),
  })
  .describe('Model admission: a backend takes traffic only if it reports what is configured here.');

const health = z
  .strictObject({
    preset: z
      .enum(['http', 'torchserve', 'kserve-v2', 'triton', 'vllm', 'tgi', 'grpc'])
      .default('http')
      .describe('Model-server flavour: fills in probe paths, body checks and metadata parsing (grpc: the standard grpc.health.v1 Health/Check, needs protocol h2).'),
    grpcService: z.string().default('').describe('Service name preset grpc asks grpc.health.v1 Health/Check about; "" = the server as a whole.'),
    jitter: z.number().min(0).max(0.5).default(0.1).describe('Random spread of probe intervals as a fraction (0.1 = +-10%).'),
    startup: z.union([z.literal(false), startupProbeSchema]).optional().describe('Startup probe (false = none; default from the preset).'),
    readiness: readinessProbe.prefault({}),
    liveness: z.union([z.literal(false), livenessProbeSchema]).optional().describe('Liveness probe (false = none; default from the preset).'),
    startupTimeout: duration('How long a backend may stay LOADING before infergate reports that its model did not load.').prefault('10m'),
    model: model.optional(),
    managementPort: z.int().min(1).max(65535).default(8081).describe('TorchServe management API port on each backend host.'),
  })
  .describe('Active health checking.');

const warmup = z
  .strictObject({
    requests: count(1).default(1).describe('Warm-up requests sent to a freshly admitted backend; all must succeed.'),
    method: httpMethod.default('POST').describe('Method of the warm-up requests.'),
    path: urlPath.describe('Path of the warm-up requests (e.g. /predictions/mlp).'),
    headers: stringMap.default({}).describe('Headers of the warm-up requests.'),
    body: z.string().optional().describe('Body of the warm-up requests.'),
    bodyFile: z.string().min(1).optional().describe('File holding the body, relative to the configuration file.'),
    timeout: duration('Timeout of each warm-up request.').prefault('30s'),
    concurrency: count(1).default(1).describe('Warm-up requests in flight at once.'),
    slowStart: duration('Ramp the new backend\'s weight from 10% to full over this window after it becomes READY.').optional(),
  })
  .describe('Warm-up: a backend is WARMING, taking only these requests, until they all succeed.');

const queue = z
  .union([
    z.literal(false),
    z.strictObject({
      max: count(0).default(1000).describe('Requests that may wait at once.'),
      timeout: duration('Longest wait for a READY backend (503 after).').prefault('10s'),
    }),
  ])
  .describe('Requests wait here while no backend is READY or all are at maxConcurrent; false = answer 503 at once.');

/**
 * Prefix affinity (affinity/): blocks of the prompt hashed in a chain, remembered per backend, the longest match wins
 * unless that backend is busier than the least busy by both margins. The anchors: the Gateway API Inference Extension's
 * prefix-cache scorer (64-character blocks, 256 blocks, an LRU per server) and SGLang's cache-aware router (balance
 * thresholds absolute 64 / relative 1.5).
 */
const prefixAffinity = z
  .strictObject({
    blockSize: count(1).default(64).describe('Characters per hashed block of the prompt: an approximation of tokens (64 characters ~ 16 tokens at ~4 characters per token, vLLM\'s block of 16).'),
    maxBlocks: count(1).default(128).describe('Blocks of the prompt hashed at most (the rest of a longer prompt is ignored): 128 x 64 = 8,192 characters ~ 2,000 tokens.'),
    maxBody: size('Largest request body parsed for its prompt; larger ones go without affinity. Parsing costs the event loop about 3 µs per KB (0.8 ms at 256 kb, 3 ms at 1 mb), whatever the prompt\'s length.').prefault('256kb'),
    perBackend: count(1).default(16384).describe('Block hashes remembered per backend, least recently used forgotten first (16,384 blocks ~ 1M characters of prompts, about 1.3 MB per backend).'),
    maxImbalance: z
      .strictObject({
        absolute: count(0).default(8).describe('Requests by which the preferred backend\'s load may exceed the least loaded one\'s (with relative: both must be passed to give up affinity).'),
        relative: z.number().min(1).default(1.5).describe('Ratio by which the preferred backend\'s load may exceed the least loaded one\'s.'),
      })
      .prefault({})
      .describe('The gate that keeps affinity from piling onto one server: load is the larger of infergate\'s in-flight and the server\'s running + waiting; the preferred backend is given up when it passes the least loaded one by both margins.'),
    onMiss: z
      .enum(['balancer', 'hash'])
      .default('balancer')
      .describe('A prompt no backend holds yet: balancer = the pool\'s balancer picks (spreads load best with one process); hash = the rendezvous hash of its first block picks, under the same gate, so that every worker (workers: N) and every infergate replica sends a new prefix to the same backend without sharing state.'),
  })
  .describe('Send a prompt to the backend that most recently saw its longest prefix (its KV cache likely holds it). Reads OpenAI-style JSON bodies read ahead (requestBody.buffer): prompt, messages, or text / inputs; larger or streamed bodies go without.');

const affinity = z
  .strictObject({
    prefix: prefixAffinity.optional(),
  })
  .describe('Affinity of requests to backends; off unless set.');

const overload = z
  .union([
    z.literal(false),
    z.strictObject({
      queue: count(0).default(5).describe('Requests waiting in a server\'s own queue (from its metrics) at or above which it is past its threshold; 0 = not judged. 5: the Inference Extension\'s saturation detector.'),
      kvUsage: z.number().min(0).max(1).default(0).describe('KV-cache use (0-1, from the server\'s metrics) at or above which it is past its threshold; 0 = not judged (the default: vLLM runs well at 90 % KV use and queues what does not fit, which `queue` sees; a KV threshold, unlike the queue, cannot be corrected between scrapes by what infergate sends and sees end). The Inference Extension\'s saturation detector uses 0.8.'),
      inflight: count(0).default(0).describe('Without fresh metrics from a server: infergate\'s own requests in flight to it at or above which it is past its threshold; 0 = off (infergate cannot know a server\'s capacity from in-flight alone).'),
      priority: z
        .strictObject({
          header: z.string().min(1).default('x-infergate-priority').describe('Request header carrying the priority.'),
          shed: z.array(z.string().min(1)).default(['low']).describe('Header values answered 503 (Retry-After) at once when every backend is past its thresholds; other requests wait in the queue.'),
        })
        .prefault({})
        .describe('Which requests are shed rather than held.'),
    }),
  ])
  .describe('When every backend is past its thresholds: hold requests in the pool\'s queue until one drops below them, or shed low priority ones with 503. Thresholds on server metrics only act where load signals are scraped; false = off.');

const timeouts = z
  .strictObject({
    connect: duration('TCP/TLS connect timeout.').prefault('5s'),
    firstByte: duration('Request sent -> the first response byte: the headers, then the first body byte (the first complete event of a text/event-stream), each within this time from the request\'s last byte. Generous: an LLM server queues and prefills before its first token.').prefault('5m'),
    idle: duration('Longest gap between two response body chunks once the first has arrived (a stream cut by it is logged and counted as cut).').prefault('60s'),
    total: duration('Whole exchange; 0 = no limit.').prefault(0),
  })
  .describe('Upstream timeouts.');

/** TLS to https:// backends: file paths, read at load and at every reload (checks.ts reports a file that cannot be read). */
const upstreamTls = z
  .strictObject({
    ca: z.string().min(1).optional().describe('PEM file with the CA certificate(s) that sign the backends\' certificates, relative to the configuration file; default: the system CAs.'),
    cert: z.string().min(1).optional().describe('PEM file with the client certificate for mutual TLS (with key).'),
    key: z.string().min(1).optional().describe('PEM file with the private key of the client certificate (with cert).'),
    servername: z.string().min(1).optional().describe('Server name sent in SNI and checked against the backend\'s certificate; default: the backend host (needed when backends are addressed by IP).'),
    verify: z.boolean().default(true).describe('Verify the backend\'s certificate chain and name; false accepts any certificate (never in production).'),
  })
  .describe('TLS to https:// backends: CA, client certificate (mTLS), server name.');
const requestBody = z
  .strictObject({
    buffer: size('Request bodies with a Content-Length up to this are read whole before a backend is picked (nginx proxy_request_buffering), so a slow upload never holds a backend connection; larger ones stream. 0 = stream every body.').prefault('1mb'),
    bufferTotal: size('Bytes of request bodies held in memory at once by this pool (the memory bound of buffering); a body that would pass it is answered 503 body-buffer-full.').prefault('128mb'),
    idle: duration('Longest gap between two reads of the request body (nginx client_body_timeout): 408 before anything went upstream, else the upstream request is aborted.', 1).prefault('10s'),
    minRate: size('Bytes per second the body must average once its first `idle` has passed (a 1 byte/s upload is cut); 0 = off.').prefault('1kb'),
  })
  .describe('How request bodies are read from clients.');

const upstream = z
  .strictObject({
    connections: count(1).default(256).describe('Connection limit per backend, and so the limit of requests in flight per backend (HTTP/2: x 100 streams): more wait in the pool\'s queue (queue.timeout, then 503), never unseen inside the connection pool. 256: an LLM server runs that many sequences at once (vLLM, TGI) and each token stream holds its connection.'),
    keepAlive: duration('Idle pooled socket lifetime; keep it below the backend\'s own.').prefault('4s'),
    pipelining: count(1).default(1).describe('Requests in flight per connection.'),
  })
  .describe('Connection pool to each backend.');

const retry = z
  .strictObject({
    attempts: count(1).default(2).describe('Total tries including the first (1 = no retry).'),
    methods: z.array(httpMethod).default(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']).describe('Methods that may be retried after a failure the backend may have acted on (a close or reset on a fresh connection from a server still listening, a timeout). A failure that never reached the model (connection refused, connect timeout, a retry.onStatus answer, the keep-alive race, a reset from a server that stopped listening) is retried for every method.'),
    nonIdempotent: z.boolean().default(false).describe('Every method may be retried after any retryable failure, as nginx\'s proxy_next_upstream non_idempotent: for pools of pure inference, where running a request twice does no harm.'),
    budget: z.number().min(0).max(100).default(20).describe('Retries allowed as a percent of active requests.'),
    minRetryConcurrency: z.int().min(0).default(3).describe('Retries in flight always allowed, whatever the budget (Envoy min_retry_concurrency).'),
    bufferBody: size('Largest request body kept in memory for replay (any method: a request that never reached the model is retried whatever its method).').prefault('64kb'),
    onStatus: z.array(z.int().min(500).max(599)).default([503]).describe('Backend statuses retried on another backend before any byte reached the client (503 = not ready / reloading); [] = none.'),
  })
  .describe('Retries of failed requests on another backend.');

const metricNames = z
  .union([z.string().regex(/^[A-Za-z_:][A-Za-z0-9_:]*$/, { error: (iss) => `invalid metric name ${JSON.stringify(iss.input)}` }), z.array(z.string().regex(/^[A-Za-z_:][A-Za-z0-9_:]*$/)).min(1)])
  .transform((v) => (typeof v === 'string' ? [v] : v))
  .describe('A metric name, or a list of them: the first one the server exports is read (a new name, then the old one).');

export const loadSchema = z
  .strictObject({
    adapter: z
      .enum(['vllm', 'tgi', 'triton', 'sglang', 'generic', 'none'])
      .optional()
      .describe('Which server\'s metric names to read: vllm, tgi, triton, sglang, generic (names from `metrics`), none (no scraping: in-flight and latency alone). Default from health.preset: vllm, tgi and triton map to their adapter, other presets to none.'),
    path: urlPath.default('/metrics').describe('Path of the Prometheus metrics endpoint on each backend.'),
    port: z.int().min(1).max(65535).optional().describe('Port of the metrics endpoint when it is not the backend\'s own (Triton serves metrics on 8002, the default of adapter triton).'),
    interval: duration('Time between two scrapes of one backend. 200ms: 5 small requests a second per backend, and a signal fresher than an LLM request is long; the Inference Extension scrapes every 50ms.', 10).prefault('200ms'),
    timeout: duration('Longest wait for one scrape (a failed scrape is counted; the last good signal stays until staleAfter).', 1).prefault('500ms'),
    staleAfter: duration('A signal older than this is ignored and in-flight and latency alone decide (the Inference Extension\'s 2s).', 1).prefault('2s'),
    maxBodySize: size('Largest metrics body read (a vLLM /metrics with many histograms is a few hundred KB).').prefault('4mb'),
    metrics: z
      .strictObject({
        queued: metricNames.optional().describe('Requests waiting in the server\'s queue (summed over series).'),
        running: metricNames.optional().describe('Requests the server runs now (summed over series).'),
        kvCache: metricNames.optional().describe('KV-cache (or token pool) use, averaged over series.'),
        kvCacheScale: z.number().gt(0).default(1).describe('Divide the KV-cache value by this: 100 for a server that exports percent.'),
        labels: stringMap.default({}).describe('Only series with these label values count (e.g. { model: llama } on a multi-model server).'),
      })
      .optional()
      .describe('Metric names: all of them for adapter generic; for another adapter, the ones set here replace its own.'),
    weights: z
      .strictObject({
        queue: z.number().min(0).default(2).describe('Weight of the server\'s queue, normalised 0-1 over the pool (Inference Extension: 2).'),
        kvCache: z.number().min(0).default(2).describe('Weight of KV-cache use, 0-1 (Inference Extension: 2).'),
        inflight: z.number().min(0).default(1).describe('Exponent of (requests in flight + 1): 1 = cost in proportion, 0 = ignore.'),
        latency: z.number().min(0).default(1).describe('Exponent of the latency estimate (peak EWMA): 1 = cost in proportion, 0 = ignore.'),
      })
      .prefault({})
      .describe('How balance: load-aware combines the signals: cost = latency x (in-flight + 1) x (1 + queue x queueScore + kvCache x kvUse).'),
    scoreAllUpTo: count(2).default(32).describe('Pools with at most this many eligible backends have every one scored on each pick; larger ones compare two at random (P2C).'),
  })
  .superRefine((l, ctx) => {
    if (l.adapter === 'generic' && (l.metrics === undefined || (l.metrics.queued ?? l.metrics.running ?? l.metrics.kvCache) === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'adapter generic reads the names in metrics: set at least one of metrics.queued, metrics.running, metrics.kvCache', path: ['adapter'] });
    }
    if (l.staleAfter <= l.interval) {
      ctx.addIssue({ code: 'custom', message: `staleAfter (${l.staleAfter}ms) must be longer than interval (${l.interval}ms), or every signal would be stale before the next scrape`, path: ['staleAfter'] });
    }
  })
  .describe('Load signals scraped from each READY backend\'s Prometheus metrics (queue, running requests, KV-cache use) for balance: load-aware.');

export const poolSchema = z
  .strictObject({
    balance: z
      .enum(['round-robin', 'random', 'least-request', 'load-aware'], {
        // nginx's words, so that a migrated config says what they are called here.
        error: (iss) => (iss.input === 'least_conn' ? "must be one of round-robin, random, least-request, load-aware (nginx's least_conn is least-request)" : iss.input === 'ip_hash' || iss.input === 'hash' ? `must be one of round-robin, random, least-request, load-aware (nginx's ${String(iss.input)}: use groups with sticky: { header | cookie | query })` : undefined),
      })
      .default('least-request')
      .describe('Load-balancing algorithm.'),
    protocol: z
      .enum(['http1', 'h2'])
      .default('http1')
      .describe('Protocol to the backends: http1, or h2 (HTTP/2: prior knowledge (h2c) to http:// backends, ALPN h2 over TLS to https:// ones). gRPC backends need h2; with h2, presets kserve-v2 and triton probe over gRPC.'),
    tls: upstreamTls.optional(),
    hostHeader: z.string().nullable().default(null).describe('Host header sent upstream; null keeps the client\'s.'),
    maxBodySize: size('Largest request body accepted (413 above); 0 = unlimited.').prefault(0),
    timeouts: timeouts.prefault({}),
    requestBody: requestBody.prefault({}),
    upstream: upstream.prefault({}),
    retry: retry.prefault({}),
    health: health.prefault({}),
    warmup: warmup.optional(),
    slowStart: duration('Ramp a backend\'s weight from 10% to full over this window after it becomes READY; 0 = off.').optional(),
    queue: queue.prefault({}),
    overload: overload.prefault({}),
    affinity: affinity.optional(),
    maxConcurrent: count(0).default(0).describe('Requests in flight per backend before new ones wait in the queue (HAProxy maxconn); 0 = no limit of its own. Whatever it says, proxied requests in flight never pass upstream.connections: the rest wait in the queue.'),
    outlier: outlierSchema.prefault({}),
    load: loadSchema.optional(),
    sticky: sticky.optional(),
    pinHeader: pinHeader.optional(),
    backends: backendList.optional().describe('Backends of a pool with a single group (named "default"). Use this, discover or groups.'),
    discover: discover.optional().describe('Backends of a pool with a single group (named "default"), found by DNS.'),
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
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, ".", "_" and "-" (at most 64)').optional().describe('Name in metrics (the route label) and logs; default route0, route1, ... by position.'),
    match: match.prefault({}),
    pool: z.string().describe('Pool that serves matching requests.'),
  })
  .describe('A route: first match wins.');

export const configSchema = z
  .strictObject({
    listen: z.union([listener, z.array(listener).min(1)]).prefault('127.0.0.1:8080').describe('Proxy listener(s): "host:port", { address, tls, ... } or a list of them.'),
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
        http2: z
          .strictObject({
            maxConcurrentStreams: count(1).default(128).describe('Streams one HTTP/2 client connection may have open at once (nginx http2_max_concurrent_streams).'),
          })
          .prefault({})
          .describe('HTTP/2 settings of the client side (h2 and h2c).'),
      })
      .prefault({})
      .describe('Client-side HTTP server settings.'),
    shutdown: z
      .strictObject({
        drainTimeout: duration('Time in-flight requests get to finish on SIGTERM.').prefault('30s'),
        grace: duration('After SIGTERM, keep accepting (and answering) for this long with /readyz 503 so that endpoint removal (Kubernetes, a load balancer above) catches up, then drain. SIGINT (Ctrl-C) drains at once.').prefault('5s'),
      })
      .prefault({})
      .describe('Graceful shutdown.'),
    log: z
      .strictObject({
        level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info').describe('Log level.'),
        accessLog: z
          .union([
            z.boolean(),
            z.strictObject({
              to: z.string().min(1).default('stdout').describe('stdout, stderr, or a file path (relative to this file); a file is reopened on SIGUSR1 (logrotate).'),
              format: z.enum(['json', 'combined']).default('json').describe('json: one JSON object per line ("kind":"access"); combined: nginx\'s combined format, exactly.'),
            }),
          ], { error: (iss) => `expected true, false or { to, format } (got ${show(iss.input)})` })
          .default(true)
          .describe('One line per request: true (= { to: stdout, format: json }), false, or { to, format }.'),
        redactQuery: z
          .array(z.string().min(1))
          .default([...DEFAULT_REDACTED_QUERY])
          .describe('Query parameters whose value the access log replaces by REDACTED (case-insensitive).'),
      })
      .prefault({})
      .describe('Logging.'),
    trustedProxies: z
      .array(ipOrCidr)
      .default([])
      .describe('Peers (IP or CIDR) whose X-Forwarded-For is believed: the client is the right-most address not in this list (nginx real_ip_recursive). Default: none.'),
    routes: z.array(route).optional().describe('Routes, first match wins; omitted = everything to the only pool.'),
    workers: z
      .union([z.literal('auto'), z.int().min(1).max(256)], { error: (iss) => `invalid workers ${JSON.stringify(iss.input)} (use auto or a number of processes, 1 = one process)` })
      .default(1)
      .describe('Worker processes serving the listeners: 1 (one process), N, or auto (one per core). With more than one, an owner process runs probes, outlier detection, rollouts and the admin API and pushes the routing view to the workers.'),
    stateFile: z.string().min(1).optional().describe('File where rollout state is kept across restarts (written atomically).'),
    coordination: z
      .strictObject({
        etcd: z.strictObject({
          endpoints: z
            .array(z.url({ protocol: /^https?$/, error: (iss) => `invalid etcd endpoint ${JSON.stringify(iss.input)} (use http://host:2379)` }))
            .min(1)
            .describe('etcd v3 client URLs, e.g. [http://etcd-0:2379, http://etcd-1:2379].'),
          prefix: z.string().min(1).default('/infergate/').describe('Key prefix of this fleet in etcd: replicas with the same prefix share rollouts and ejections.'),
          lease: duration('Lease TTL of leadership and of a replica\'s reports: a leader that dies is replaced within it.', 2000).prefault('10s'),
        }),
      })
      .optional()
      .describe('Replicas share rollout verdicts, weights and ejections through etcd: one leader per rollout decides over every replica\'s traffic. Omitted: this replica decides alone.'),
    pools: z.record(name, poolSchema).describe('Pools of backends by name.'),
  })
  .meta({
    title: 'infergate configuration',
    description: 'Configuration of infergate, a Layer-7 load balancer for ML inference servers.',
  });

export type ParsedConfig = z.output<typeof configSchema>;
export type ParsedPool = z.output<typeof poolSchema>;

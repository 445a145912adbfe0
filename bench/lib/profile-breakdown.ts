/**
 * Where one request's CPU goes, from a V8 .cpuprofile: every sample is charged to the first frame, walking from the
 * leaf towards the root, that belongs to a known part of the request path (parse, phases, dispatch, metrics, log...);
 * frames that say nothing (events, nextTick, microtasks) pass the sample on to their caller. Divided by the number of
 * requests served while profiling, it gives microseconds per request per part.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
  startTime: number;
  endTime: number;
}

export interface BreakdownRow {
  part: string;
  /** Share of the busy samples (idle and start-up excluded). */
  percent: number;
  usPerRequest: number;
}

export interface Breakdown {
  requests: number;
  busyMs: number;
  idleMs: number;
  startupMs: number;
  usPerRequest: number;
  rows: BreakdownRow[];
  /** The hottest functions by self time, µs per request. */
  topSelf: { fn: string; usPerRequest: number }[];
}

const NATIVE_WRITES = new Set(['writev', 'writeLatin1String', 'writeUtf8String', 'writeBuffer', 'writeAsciiString', 'shutdown']);
const UNDICI_PARSE = /^(wasm_on_|onHeader|onHeadersComplete|onMessageComplete|onMessageBegin|onBody|onStatus|onUpgrade|execute|readMore|finish$)/;

export const PARTS = {
  idle: 'idle (waiting in epoll)',
  startup: 'start-up and config (excluded)',
  gc: 'garbage collector',
  program: 'V8/native, unattributed ((program))',
  writes: 'socket writes: write/writev syscalls (client + backend)',
  parseClient: 'parse: client request (node:http, llhttp)',
  parseUpstream: 'parse: backend response (undici, llhttp wasm)',
  dispatch: 'dispatch (undici: pool, request, writing the head)',
  nodeHttp: 'node:http server (req/res objects, response head)',
  streams: 'sockets and streams (node:net, streams, JS side)',
  strict: 'phase: strict',
  id: 'phase: request id, client address',
  route: 'phase: route',
  body: 'phase: body',
  headers: 'headers: upstream request + response head lists',
  pick: 'pick + report (cluster, balancer, outlier, backends)',
  metrics: 'metrics (prom-client, batching)',
  accessLog: 'access log (pino)',
  timers: 'timers (clock, node timers)',
  core: 'infergate core (listener, exchange, forward, accounting)',
  probes: 'health probes (background)',
  other: 'other node internals (events, nextTick, microtasks)',
} as const;

function classify(fn: string, url: string): string | null {
  if (url === '') {
    if (fn === '(idle)') return PARTS.idle;
    if (fn === '(garbage collector)') return PARTS.gc;
    if (fn === '(program)') return PARTS.program;
    if (NATIVE_WRITES.has(fn)) return PARTS.writes;
    return null;
  }
  if (url.startsWith('wasm://')) return PARTS.parseUpstream;
  if (url.includes('/node_modules/undici/')) return UNDICI_PARSE.test(fn) && url.includes('client-h1') ? PARTS.parseUpstream : PARTS.dispatch;
  if (url.includes('/node_modules/prom-client/')) return PARTS.metrics;
  if (url.includes('/node_modules/pino') || url.includes('/node_modules/sonic-boom/') || url.includes('/node_modules/fast-redact/')) return PARTS.accessLog;
  if (url.includes('/node_modules/yaml/') || url.includes('/node_modules/zod/') || url.startsWith('node:internal/modules')) return PARTS.startup;
  if (url.includes('/dist/')) {
    const file = url.slice(url.indexOf('/dist/') + 6);
    if (file === 'proxy/strict.js') return PARTS.strict;
    if (file === 'proxy/request-id.js' || file === 'proxy/client-address.js') return PARTS.id;
    if (file.startsWith('routing/')) return PARTS.route;
    if (file.startsWith('proxy/body')) return PARTS.body;
    if (file === 'proxy/headers.js') return PARTS.headers;
    if (/^(cluster|balancer|backends|outlier|rollout)\//.test(file)) return PARTS.pick;
    if (file === 'observe/metrics.js' || file === 'observe/batching.js') return PARTS.metrics;
    if (file === 'observe/access-log.js' || file === 'observe/redact-query.js') return PARTS.accessLog;
    if (file === 'clock.js') return PARTS.timers;
    if (file.startsWith('health/')) return PARTS.probes;
    if (file.startsWith('config/') || file === 'cli.js' || file === 'commands.js') return PARTS.startup;
    return PARTS.core;
  }
  if (url === 'node:_http_common') return PARTS.parseClient;
  if (url === 'node:_http_server' || url === 'node:_http_outgoing' || url === 'node:_http_incoming') return PARTS.nodeHttp;
  if (url === 'node:net' || url.startsWith('node:internal/stream_base') || url.startsWith('node:internal/streams') || url === 'node:stream') return PARTS.streams;
  if (url === 'node:internal/timers' || url === 'node:timers') return PARTS.timers;
  return null;
}

export function breakdown(file: string, requests: number): Breakdown {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  // Node's HTTP parser binding is native ('execute' with no url) but called from node:http: charge it as parsing.
  const partOf = new Map<number, string>();
  const part = (leaf: number): string => {
    const cached = partOf.get(leaf);
    if (cached !== undefined) return cached;
    let found: string = PARTS.other;
    for (let id: number | undefined = leaf; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id)?.callFrame;
      if (frame === undefined) break;
      if (frame.url === '' && frame.functionName === 'execute' && id === leaf) {
        found = PARTS.parseClient;
        break;
      }
      const c = classify(frame.functionName, frame.url);
      if (c !== null) {
        found = c;
        break;
      }
    }
    partOf.set(leaf, found);
    return found;
  };
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const usBy = new Map<string, number>();
  for (let i = 0; i < samples.length; i++) {
    // A sample stands for the time until the next one.
    const us = deltas[i + 1] ?? 0;
    const p = part(samples[i]!);
    usBy.set(p, (usBy.get(p) ?? 0) + us);
  }
  const selfUs = new Map<string, number>();
  for (let i = 0; i < samples.length; i++) {
    const frame = byId.get(samples[i]!)?.callFrame;
    if (frame === undefined || frame.functionName === '(idle)' || classify(frame.functionName, frame.url) === PARTS.startup) continue;
    const where = frame.url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, '').replace(/^.*\/dist\//, 'dist/');
    const key = `${frame.functionName || '(anonymous)'} ${where || '(native)'}${where ? `:${frame.lineNumber + 1}` : ''}`;
    selfUs.set(key, (selfUs.get(key) ?? 0) + (deltas[i + 1] ?? 0));
  }
  const topSelf = [...selfUs]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 25)
    .map(([fn, us]) => ({ fn, usPerRequest: Math.round((10 * us) / requests) / 10 }));
  const idle = usBy.get(PARTS.idle) ?? 0;
  const startup = usBy.get(PARTS.startup) ?? 0;
  const busy = [...usBy].filter(([p]) => p !== PARTS.idle && p !== PARTS.startup).reduce((sum, [, us]) => sum + us, 0);
  const rows = [...usBy]
    .filter(([p]) => p !== PARTS.idle && p !== PARTS.startup)
    .sort((a, b) => b[1] - a[1])
    .map(([p, us]) => ({ part: p, percent: Math.round((1000 * us) / busy) / 10, usPerRequest: Math.round((10 * us) / requests) / 10 }));
  return {
    requests,
    busyMs: Math.round(busy / 1000),
    idleMs: Math.round(idle / 1000),
    startupMs: Math.round(startup / 1000),
    usPerRequest: Math.round((10 * busy) / requests) / 10,
    rows,
    topSelf,
  };
}

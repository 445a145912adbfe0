// Shared bits of the end-to-end tests: pool YAML, metric reads, backend lookup, raw client requests and bounded waits.
import http, { type IncomingHttpHeaders } from 'node:http';
import type { Backend } from '../../src/backends/backend.js';
import type { Stack } from '../helpers/stack.js';

/**
 * Health settings for tests: the first probe runs at once and makes a backend READY; the next one is an
 * hour away, so a backend a test breaks on purpose stays READY and the proxy itself meets the failure.
 */
export const QUIET_HEALTH = '{ readiness: { path: /health, interval: 1h, healthyThreshold: 1 } }';

/** A one-pool config named `p` over `urls`, with extra pool-level YAML lines (indented by 4). */
export function onePool(urls: readonly string[], extra = ''): string {
  return `
pools:
  p:
    balance: round-robin
    health: ${QUIET_HEALTH}
    backends: [${urls.join(', ')}]
${extra}`;
}

/** Resolves with `p`, or rejects after `ms` (a failure path only: passing tests never wait for it). */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms}ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, bound]).finally(() => clearTimeout(timer));
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** One sample of a Prometheus metric from the admin listener; 0 when the series does not exist. */
export async function metric(stack: Stack, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${stack.adminUrl}/metrics`)).text();
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    const series = rest[0] === '{' ? rest.slice(1, rest.indexOf('}')) : '';
    const have = new Map<string, string>();
    for (const m of series.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) have.set(m[1]!, m[2]!);
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

/** Every backend of every pool of the running app. */
export function backends(stack: Stack): Backend[] {
  const out: Backend[] = [];
  for (const pool of stack.app.pools()) out.push(...pool.backends);
  return out;
}

export function backendByUrl(stack: Stack, url: string): Backend {
  const b = backends(stack).find((x) => x.origin === url);
  if (b === undefined) throw new Error(`no backend ${url}`);
  return b;
}

/** Resolves when every backend of every pool is READY (waits on the state-change log lines). */
export async function waitAllReady(stack: Stack): Promise<void> {
  for (const b of backends(stack)) {
    if (b.routable()) continue;
    await stack.waitForLog((l) => l.msg === 'backend state changed' && l.backend === b.id && l.to === 'READY');
  }
}

/** The access-log line of one request id. */
export function accessLine(stack: Stack, requestId: string): Promise<Record<string, unknown>> {
  return within(stack.waitForLog((l) => l.kind === 'access' && l.requestId === requestId), 3000, `access log of ${requestId}`);
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
}

/** A plain node:http request on a fresh connection (no pooling between tests). */
export function request(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Parse a JSON error body. */
export function json(reply: Reply): Record<string, unknown> {
  return JSON.parse(reply.body.toString('utf8')) as Record<string, unknown>;
}

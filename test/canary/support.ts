// Shared bits of the canary tests: backends that say who answered, a two-group pool in YAML, keep-alive traffic and admin reads.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { parseConfig, formatErrors } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import type { RolloutView } from '../../src/rollout/types.js';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import type { ManualClock } from '../helpers/manual-clock.js';
import type { Stack } from '../helpers/stack.js';

/**
 * Canary (and stable) requests per window for a healthy canary to pass under the default error criteria: with no
 * errors, 36 is the fewest whose pessimistic rate (80 % Wilson upper bound) is under the 2 % that maxErrorRatio 2 over
 * a stable floored at 1 % allows (rollout/analysis.ts); fewer leave the check inconclusive.
 */
export const PASSING = 40;

/** Readiness: the first probe at once, the next one exactly an hour after it (no jitter; a test advances the clock to run it). */
export const HEALTH = '{ jitter: 0, readiness: { path: /health, interval: 1h, timeout: 2s, healthyThreshold: 1, unhealthyThreshold: 1 } }';

export type Behaviour = (n: number, req: IncomingMessage, res: ServerResponse) => void;

export const ok: Behaviour = (_n, _req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{"ok":true}');
};
export const status = (code: number): Behaviour => (_n, _req, res) => {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(`{"status":${code}}`);
};
/** Every other request (the 2nd, 4th, ...) answers 500: a 50% failing backend whose streaks never reach 2. */
export const everyOther500: Behaviour = (n, req, res) => (n % 2 === 1 ? status(500)(n, req, res) : ok(n, req, res));
/**
 * Takes `ms` on the proxy's clock: moves the test's ManualClock on by `ms` before answering, so the proxy measures
 * exactly `ms` of upstream latency for a request that is alone in flight (send such traffic with concurrency 1).
 */
export const takes = (clock: ManualClock, ms: number): Behaviour => (n, req, res) => {
  clock.advance(ms);
  ok(n, req, res);
};
/** Cuts the connection without an answer. */
export const reset: Behaviour = (_n, req) => req.socket.destroy();

/** A backend that stamps `x-served-by: name` on its answers; `behave` may be swapped at any time. */
export interface NamedBackend extends TestBackend {
  name: string;
  behave: Behaviour;
  /** User requests seen so far. */
  count(): number;
}

export async function namedBackend(name: string, behave: Behaviour = ok): Promise<NamedBackend> {
  let n = 0;
  const b = (await startBackend()) as NamedBackend;
  b.name = name;
  b.behave = behave;
  b.count = () => b.requests.length;
  b.handle((req, res) => {
    res.setHeader('x-served-by', name);
    b.behave(n++, req, res);
  });
  return b;
}

/** A pool `p` with groups stable and canary; `extra` is pool-level YAML (4 spaces), `canaryExtra` goes into the canary group (8 spaces). */
export function twoGroups(o: {
  stable: readonly NamedBackend[];
  canary: readonly NamedBackend[];
  stableWeight?: number;
  canaryWeight?: number;
  canaryExtra?: string;
  extra?: string;
  top?: string;
  balance?: string;
}): string {
  const list = (bs: readonly NamedBackend[]): string => `[${bs.map((b) => b.url).join(', ')}]`;
  return `${o.top ?? ''}
pools:
  p:
    balance: ${o.balance ?? 'round-robin'}
    health: ${HEALTH}
    retry: { attempts: 1 }
${o.extra ?? '    outlier: false'}
    groups:
      stable: { weight: ${o.stableWeight ?? 90}, backends: ${list(o.stable)} }
      canary:
        weight: ${o.canaryWeight ?? 10}
        backends: ${list(o.canary)}
${o.canaryExtra ?? ''}
`;
}

/** The config a stack runs with, for app.reload(); ports kept so the reload changes only what the test means. */
export function configFor(stack: Stack, yaml: string): Config {
  const text = `listen: 127.0.0.1:${stack.port}\nadmin: { listen: 127.0.0.1:${stack.adminPort} }\nlog: { level: info, accessLog: true }\n${yaml}`;
  const parsed = parseConfig(text, 'reload.yaml', {});
  if (!parsed.ok) throw new Error(formatErrors(parsed.errors));
  return parsed.config;
}

export interface Answer {
  status: number;
  /** x-served-by of the backend that answered, '' for infergate's own answers. */
  by: string;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });

export function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, by: String(res.headers['x-served-by'] ?? '') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** n requests, `concurrency` at a time; `headers(i)` per request. Answers in request order. */
export async function traffic(
  stack: Stack,
  n: number,
  opts: { path?: string | ((i: number) => string); headers?: (i: number) => Record<string, string>; concurrency?: number; method?: string } = {},
): Promise<Answer[]> {
  const out: Answer[] = new Array<Answer>(n);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      const path = typeof opts.path === 'function' ? opts.path(i) : (opts.path ?? '/v1/predict');
      out[i] = await get(stack.url + path, opts.headers?.(i) ?? {}, opts.method);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, opts.concurrency ?? 8) }, worker));
  return out;
}

/** How many answers came from each backend name. */
export function tally(answers: readonly Answer[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const a of answers) m.set(a.by, (m.get(a.by) ?? 0) + 1);
  return m;
}

export async function rollouts(stack: Stack, token?: string): Promise<RolloutView[]> {
  const res = await fetch(`${stack.adminUrl}/admin/rollouts`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return ((await res.json()) as { rollouts: RolloutView[] }).rollouts;
}

export async function rollout(stack: Stack): Promise<RolloutView> {
  const [r] = await rollouts(stack);
  if (r === undefined) throw new Error('no rollout');
  return r;
}

export async function act(stack: Stack, action: string, opts: { pool?: string; group?: string; body?: string; query?: string; token?: string } = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const url = `${stack.adminUrl}/admin/rollouts/${opts.pool ?? 'p'}/${opts.group ?? 'canary'}/${action}${opts.query ?? ''}`;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const res = await fetch(url, { method: 'POST', headers, ...(opts.body === undefined ? {} : { body: opts.body }) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

export interface AdminBackend {
  id: string;
  group: string;
  url: string;
  state: string;
  stateReason: string;
  ejections: number;
  requests: number;
}

export async function adminBackend(stack: Stack, url: string): Promise<AdminBackend> {
  const res = await fetch(`${stack.adminUrl}/admin/backends`);
  const all = ((await res.json()) as { backends: AdminBackend[] }).backends;
  const b = all.find((x) => x.url === url);
  if (b === undefined) throw new Error(`no backend ${url}`);
  return b;
}

/** Send requests until `enough()` holds (bounded: a failure path throws after `max` requests). */
export async function until(stack: Stack, enough: () => boolean, opts: { batch?: number; max?: number; concurrency?: number; headers?: (i: number) => Record<string, string> } = {}): Promise<Answer[]> {
  const all: Answer[] = [];
  const max = opts.max ?? 5000;
  while (!enough()) {
    if (all.length >= max) throw new Error(`condition not met after ${max} requests`);
    all.push(...(await traffic(stack, opts.batch ?? 20, { concurrency: opts.concurrency ?? 8, ...(opts.headers ? { headers: opts.headers } : {}) })));
  }
  return all;
}

/** The next log line matching `pred` written after this call (lines already written do not count). */
export function nextLog(stack: Stack, pred: (l: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  const seen = new Set<unknown>(stack.logs);
  return stack.waitForLog((l) => !seen.has(l) && pred(l));
}

/** The next 'backend state changed' line of backend `id` into state `to`. */
export function nextState(stack: Stack, id: string, to: string): Promise<Record<string, unknown>> {
  return nextLog(stack, (l) => l.msg === 'backend state changed' && l.backend === id && l.to === to);
}

export async function closeAll(stack: Stack | undefined, backends: readonly NamedBackend[]): Promise<void> {
  await stack?.close();
  await Promise.all(backends.map((b) => b.close()));
}

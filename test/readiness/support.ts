// Shared bits of the readiness tests: a scriptable model server, admin reads and actions, and event-driven waits.
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Backend } from '../../src/backends/backend.js';
import type { BackendView } from '../../src/admin/backends-view.js';
import type { ManualClock } from '../helpers/manual-clock.js';
import type { Stack } from '../helpers/stack.js';
import { within } from '../e2e/support.js';

export { deferred, json, metric, request, within, type Deferred, type Reply } from '../e2e/support.js';

export interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** Monotonic ms of arrival as the test's clock saw it (see `clock` of startModel). */
  at: number;
}

export interface Model {
  url: string;
  port: number;
  /** Every request that is not a probe or metadata read. */
  readonly requests: Seen[];
  /** Requests carrying `x-infergate-warmup`. */
  readonly warmups: Seen[];
  /** Requests without `x-infergate-warmup` (user traffic). */
  readonly user: Seen[];
  /** Status of a probe path from now on (paths not set answer 404). */
  setStatus(path: string, status: number, body?: unknown): void;
  /** Decide how a non-probe request is answered; default 200 {"ok":true}. */
  handle(fn: (req: IncomingMessage, res: ServerResponse, seen: Seen) => void): void;
  /** Resolves once `n` requests matching `pred` have arrived. */
  waitFor(pred: (s: Seen) => boolean, n?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * A model server whose probe and metadata paths answer what the test says (JSON bodies), and which records
 * every other request. Probe paths are whatever was passed to setStatus().
 */
export async function startModel(probes: Record<string, number | { status: number; body: unknown }> = { '/health': 200 }, clock: { now(): number } = { now: () => 0 }): Promise<Model> {
  const answers = new Map<string, { status: number; body: unknown }>();
  const set = (path: string, v: number | { status: number; body: unknown }): void => {
    answers.set(path, typeof v === 'number' ? { status: v, body: { status: v < 300 ? 'ok' : 'not ready' } } : v);
  };
  for (const [p, v] of Object.entries(probes)) set(p, v);
  const requests: Seen[] = [];
  const waiters: Array<{ pred: (s: Seen) => boolean; n: number; resolve: () => void }> = [];
  let handler: (req: IncomingMessage, res: ServerResponse, seen: Seen) => void = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  };
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const probe = answers.get(path);
    if (probe !== undefined && req.method === 'GET' && req.headers['x-infergate-warmup'] === undefined) {
      const text = JSON.stringify(probe.body);
      res.writeHead(probe.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const seen: Seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: clock.now() };
      requests.push(seen);
      for (let i = waiters.length - 1; i >= 0; i--) {
        const w = waiters[i]!;
        if (requests.filter(w.pred).length >= w.n) waiters.splice(i, 1)[0]!.resolve();
      }
      handler(req, res, seen);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  const isWarmup = (s: Seen): boolean => s.headers['x-infergate-warmup'] !== undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    get warmups() {
      return requests.filter(isWarmup);
    },
    get user() {
      return requests.filter((s) => !isWarmup(s));
    },
    setStatus(path, status, body) {
      set(path, body === undefined ? status : { status, body });
    },
    handle(fn) {
      handler = fn;
    },
    waitFor(pred, n = 1) {
      if (requests.filter(pred).length >= n) return Promise.resolve();
      return within(new Promise<void>((resolve) => waiters.push({ pred, n, resolve })), 5000, `${n} matching request(s) at the model server`);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export const isWarmup = (s: Seen): boolean => s.headers['x-infergate-warmup'] !== undefined;
export const isUser = (s: Seen): boolean => !isWarmup(s);

/** Id of the only backend of pool `p` on `port` (the form DESIGN.md promises). */
export const idOf = (port: number, pool = 'p', group = 'default'): string => `${pool}.${group}.127.0.0.1:${port}`;

export function backendOf(stack: Stack, id: string): Backend {
  const b = stack.app.backend(id);
  if (b === undefined) throw new Error(`no backend ${id}`);
  return b;
}

/** One backend as /admin/backends shows it. */
export async function view(stack: Stack, id: string, token?: string): Promise<BackendView> {
  const res = await fetch(`${stack.adminUrl}/admin/backends`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const body = (await res.json()) as { backends: BackendView[] };
  const v = body.backends.find((b) => b.id === id);
  if (v === undefined) throw new Error(`/admin/backends has no ${id}`);
  return v;
}

/** POST /admin/backends/{id}/{action}. */
export function adminAction(stack: Stack, id: string, action: 'ready' | 'unready' | 'drain' | 'enable', token?: string): Promise<Response> {
  return fetch(`${stack.adminUrl}/admin/backends/${encodeURIComponent(id)}/${action}`, { method: 'POST', headers: token ? { authorization: `Bearer ${token}` } : {} });
}

const isChange = (l: Record<string, unknown>): boolean => l.msg === 'backend state changed';

/** Every state change of one backend so far, as "FROM->TO". */
export function changes(stack: Stack, id: string): string[] {
  return stack.logs.filter((l) => isChange(l) && l.backend === id).map((l) => `${String(l.from)}->${String(l.to)}`);
}

/** Resolves when the backend is in `state` (now, or at its next logged change to it). */
export function waitState(stack: Stack, id: string, state: string, ms = 3000): Promise<unknown> {
  if (backendOf(stack, id).state() === state) return Promise.resolve();
  return within(stack.waitForLog((l) => isChange(l) && l.backend === id && l.to === state && backendOf(stack, id).state() === state), ms, `${id} to turn ${state}`);
}

/** Resolves once `n` log lines match `pred` (those already written count). */
export function waitLogs(stack: Stack, pred: (l: Record<string, unknown>) => boolean, n: number, ms = 3000): Promise<unknown> {
  const count = (): number => stack.logs.filter(pred).length;
  return within(stack.waitForLog((l) => pred(l) && count() >= n), ms, `${n} log line(s)`);
}

/** Resolves with the `n`-th state change of `id` to `to`. */
export function waitChange(stack: Stack, id: string, to: string, n = 1, ms = 3000): Promise<unknown> {
  return waitLogs(stack, (l) => isChange(l) && l.backend === id && l.to === to, n, ms);
}

/**
 * Resolves when `pred` holds, looking once per admin round trip (each one a full turn of the event loop
 * through real sockets); bounded, so a failing test fails fast instead of hanging.
 */
export async function until(stack: { adminUrl: string }, pred: () => boolean | Promise<boolean>, what: string, maxLooks = 2000): Promise<void> {
  for (let i = 0; !(await pred()); i++) {
    if (i === maxLooks) throw new Error(`gave up waiting for ${what}`);
    await fetch(`${stack.adminUrl}/healthz`);
  }
}

/** Resolves after the backend's next probe verdict was recorded (startup, readiness or model-ready). */
export async function nextProbe(stack: Stack, id: string): Promise<void> {
  const b = backendOf(stack, id);
  const before = b.lastProbe;
  await until(stack, () => b.lastProbe !== before, `a probe of ${id}`);
}

/**
 * One round of probes on the test's clock: move it on by `intervalMs` (the probes due then start) and wait until
 * `probers` of them have their verdict. A probe loop re-arms its timer only once its probe is answered and
 * applied, so "n more `intervalMs` timers set" means "n more verdicts"; give each role its own interval. Call it
 * once the previous verdicts are in (after a clock.waitFor or an earlier round), or the timers are not armed yet.
 */
export async function probeRound(clock: ManualClock, intervalMs: number, probers = 1): Promise<void> {
  const before = clock.count(intervalMs);
  clock.advance(intervalMs);
  await within(clock.waitFor(intervalMs, before + probers), 3000, `${probers} probe verdict(s) after ${intervalMs} ms`);
}

// The admin listener: /healthz, /readyz, /metrics, /status, /admin/* reads and writes (loopback by default, token when set).
import type { CoordinationStatus } from '../coordination/types.js';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Backend } from '../backends/backend.js';
import type { Cluster } from '../cluster/cluster.js';
import { dumpConfig } from '../config/dump.js';
import type { Config, LogConfig } from '../config/types.js';
import type { Registry } from 'prom-client';
import { errorBody, writeJson } from '../proxy/error-body.js';
import type { RolloutAction, RolloutManager } from '../rollout/manager.js';
import { authorised, CLEARED_COOKIE, sessionCookie, tokenInUrl, tokenMatches } from './auth.js';
import { backendView, type RecentTraffic } from './backends-view.js';
import { LOG_LEVELS, MAX_BACKEND_WEIGHT, MAX_GROUP_WEIGHT, Refusal, type RuntimeChanges } from './changes.js';
import { endpointsHtml, ENDPOINTS } from './endpoints.js';
import { loginPage } from './login-page.js';
import { STATUS_PAGE } from './status-page.js';

export interface AdminDeps {
  /** What /metrics exposes (with workers: the whole process tree, workers/owner.ts). */
  registry: Pick<Registry, 'metrics' | 'contentType'>;
  /** The bearer token in force (read per request, so a reload can set or rotate it). */
  token(): string | null;
  now: () => number;
  pools(): Iterable<Cluster>;
  /** True once shutdown began: /readyz turns 503 so the balancer is taken out of rotation. */
  draining(): boolean;
  /** Write actions on one backend; each returns the backend, or null when the id is unknown. */
  actions: BackendActions;
  rollouts: Pick<RolloutManager, 'views' | 'act'>;
  /** Coordination with other replicas (etcd), or null when this replica decides alone. */
  coordination?: () => CoordinationStatus | null;
  /** A backend's recent traffic from its pool's outlier detector, or null when detection is off. */
  recent(b: Backend): RecentTraffic | null;
  /** The configuration in force (GET /admin/config shows it, redacted). */
  config(): Config;
  /** Run-time weight, membership and log-level changes (until the next reload). */
  changes: Pick<RuntimeChanges, 'mark' | 'removed' | 'setBackendWeight' | 'setGroupWeight' | 'addBackend' | 'removeBackend' | 'setLogLevel'>;
}

export interface BackendActions {
  /** The model server says its model has loaded (admission and warm-up still run). */
  pushReady(id: string): Backend | null;
  /** The model server says it is unloading / reloading. */
  pushUnready(id: string): Backend | null;
  /** Operator: take out of rotation, let in-flight requests finish. */
  drain(id: string): Backend | null;
  /** Operator: undo drain. */
  enable(id: string): Backend | null;
}

const ACTIONS: Record<string, keyof BackendActions> = { ready: 'pushReady', unready: 'pushUnready', drain: 'drain', enable: 'enable' };
const ACTION_PATH = /^\/admin\/backends\/([^/]+)\/(ready|unready|drain|enable)$/;
const ROLLOUT_PATH = /^\/admin\/rollouts\/([^/]+)\/([^/]+)\/(pause|resume|promote|abort|weight|start)$/;
const BACKEND_PATH = /^\/admin\/backends\/([^/]+)(\/weight)?$/;
const GROUP_PATH = /^\/admin\/pools\/([^/]+)\/groups\/([^/]+)\/(backends|weight)$/;
const MAX_ACTION_BODY = 4096;

export function createAdminServer(deps: AdminDeps): http.Server {
  return http.createServer((req, res) => {
    handle(deps, req, res).catch((err: Error) => fail(res, 500, 'internal-error', err.message));
  });
}

async function handle(deps: AdminDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const search = new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
  // A token in a URL ends up in access logs, browser history and Referer headers: never accepted, not even checked.
  if (tokenInUrl(search)) {
    req.resume();
    fail(res, 400, 'token-in-url', 'the admin token is never accepted in a URL: send "Authorization: Bearer <token>", or sign in once at /login (a session cookie)');
    return;
  }
  if (path === '/login' || path === '/logout') {
    await handleLogin(deps, req, res, path, search);
    return;
  }
  if (path.startsWith('/admin/') && !authorised(deps.token(), req)) {
    req.resume();
    res.setHeader('www-authenticate', 'Bearer');
    fail(res, 401, 'unauthorised', 'admin token required (Authorization: Bearer <token>, or sign in at /login)');
    return;
  }
  if (path.startsWith('/admin/') && (req.method === 'POST' || req.method === 'DELETE') && (await handleChange(deps, req, res, path))) return;
  const rolloutAction = ROLLOUT_PATH.exec(path);
  if (rolloutAction !== null) {
    await handleRolloutAction(deps, req, res, decodeURIComponent(rolloutAction[1]!), decodeURIComponent(rolloutAction[2]!), rolloutAction[3] as RolloutAction);
    return;
  }
  const action = ACTION_PATH.exec(path);
  if (action !== null) {
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      fail(res, 405, 'method-not-allowed', 'write actions are POST only');
      return;
    }
    req.resume();
    const id = decodeURIComponent(action[1]!);
    const verb = action[2]!;
    const b = deps.actions[ACTIONS[verb]!](id);
    if (b === null) fail(res, 404, 'unknown-backend', `no backend with id ${JSON.stringify(id)}`);
    else json(res, 200, { backend: view(deps, b) });
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    fail(res, 405, 'method-not-allowed', 'the admin API answers GET and HEAD here');
    return;
  }
  switch (path) {
    case '/':
      if (wantsHtml(req)) html(res, 200, endpointsHtml());
      else json(res, 200, { service: 'infergate admin', endpoints: ENDPOINTS });
      return;
    case '/healthz':
      json(res, 200, { status: 'ok' });
      return;
    case '/readyz': {
      const notReady: string[] = [];
      for (const p of deps.pools()) if (!p.hasReady()) notReady.push(p.name);
      // Coordination is detail, never a reason for 503: out of reach of etcd a replica still serves with the last shared view.
      const c = deps.coordination?.() ?? null;
      const detail = c === null ? {} : { coordination: c };
      if (deps.draining()) json(res, 503, { status: 'draining', ...detail });
      else if (notReady.length > 0) json(res, 503, { status: 'not-ready', poolsWithoutReadyBackend: notReady, ...detail });
      else json(res, 200, { status: 'ready', ...detail });
      return;
    }
    case '/metrics': {
      const text = await deps.registry.metrics();
      res.writeHead(200, { 'content-type': deps.registry.contentType });
      res.end(text);
      return;
    }
    case '/admin/backends': {
      const now = deps.now();
      const backends: Backend[] = [];
      for (const p of deps.pools()) backends.push(...p.backends);
      json(res, 200, { backends: backends.map((b) => backendView(b, now, deps.recent(b), deps.changes.mark(b))), removedAtRuntime: deps.changes.removed() });
      return;
    }
    case '/admin/config':
      json(res, 200, dumpConfig(deps.config()));
      return;
    case '/login':
      html(res, 200, loginPage(false));
      return;
    case '/status':
      // Static HTML; the data it shows comes from /admin/* with the session cookie (or no token configured).
      html(res, 200, STATUS_PAGE);
      return;
    case '/admin/rollouts':
      json(res, 200, { rollouts: deps.rollouts.views(), coordination: deps.coordination?.() ?? null });
      return;
    default:
      fail(res, 404, 'not-found', 'no such admin endpoint');
  }
}

/**
 * Run-time changes: backend weight, backend removal, backend added to a group, group weight, log level. Returns
 * false when the path is none of them (the caller goes on).
 */
async function handleChange(deps: AdminDeps, req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> {
  const c = deps.changes;
  const backend = BACKEND_PATH.exec(path);
  if (backend !== null) {
    const id = decodeURIComponent(backend[1]!);
    if (backend[2] === undefined) {
      if (req.method !== 'DELETE') return false;
      req.resume();
      const removed = c.removeBackend(id);
      if (removed instanceof Refusal) refuse(res, removed);
      else json(res, 200, { removed: view(deps, removed), untilReload: true });
      return true;
    }
    if (req.method !== 'POST') return false;
    const weight = await readWeight(req, res, MAX_BACKEND_WEIGHT);
    if (weight === null) return true;
    const b = c.setBackendWeight(id, weight);
    if (b instanceof Refusal) refuse(res, b);
    else json(res, 200, { backend: view(deps, b) });
    return true;
  }
  const group = GROUP_PATH.exec(path);
  if (group !== null) {
    if (req.method !== 'POST') return false;
    const pool = decodeURIComponent(group[1]!);
    const name = decodeURIComponent(group[2]!);
    if (group[3] === 'weight') {
      const weight = await readWeight(req, res, MAX_GROUP_WEIGHT);
      if (weight === null) return true;
      const result = c.setGroupWeight(pool, name, weight);
      if (result instanceof Refusal) refuse(res, result);
      else json(res, 200, { group: result, untilReload: true });
      return true;
    }
    const body = await readJsonBody(req, res, '{"url": "http://10.0.0.7:8080", "weight": 1}');
    if (body === null) return true;
    const weight = body.weight === undefined ? null : body.weight;
    if (typeof body.url !== 'string' || (weight !== null && !validWeight(weight, MAX_BACKEND_WEIGHT))) {
      fail(res, 400, 'bad-request', `body must be like {"url": "http://10.0.0.7:8080", "weight": 1} (weight optional, an integer 0-${MAX_BACKEND_WEIGHT})`);
      return true;
    }
    const added = c.addBackend(pool, name, body.url, weight as number | null);
    if (added instanceof Refusal) refuse(res, added);
    else json(res, 201, { backend: view(deps, added), untilReload: true });
    return true;
  }
  if (path === '/admin/log-level' && req.method === 'POST') {
    const body = await readJsonBody(req, res, '{"level": "debug"}');
    if (body === null) return true;
    const level = body.level;
    if (typeof level !== 'string' || !LOG_LEVELS.includes(level as LogConfig['level'])) {
      fail(res, 400, 'bad-request', `level must be one of ${LOG_LEVELS.join(', ')}`);
      return true;
    }
    json(res, 200, { ...c.setLogLevel(level as LogConfig['level']), untilReload: true });
    return true;
  }
  return false;
}

/** GET /login: the form; POST /login: `token=...` (form or JSON) sets the session cookie; POST /logout clears it. */
async function handleLogin(deps: AdminDeps, req: IncomingMessage, res: ServerResponse, path: string, search: URLSearchParams): Promise<void> {
  if (req.method === 'GET' && path === '/login') {
    html(res, 200, loginPage(search.has('failed')));
    return;
  }
  if (req.method !== 'POST') {
    req.resume();
    res.setHeader('allow', path === '/login' ? 'GET, POST' : 'POST');
    fail(res, 405, 'method-not-allowed', `${path} answers ${path === '/login' ? 'GET and POST' : 'POST'}`);
    return;
  }
  const text = await readBody(req);
  if (path === '/logout') {
    res.setHeader('set-cookie', CLEARED_COOKIE);
    redirect(res, '/login');
    return;
  }
  const token = deps.token();
  let given: unknown;
  if ((req.headers['content-type'] ?? '').startsWith('application/json')) {
    try {
      given = (JSON.parse(text) as { token?: unknown }).token;
    } catch {
      given = undefined;
    }
  } else given = new URLSearchParams(text).get('token');
  if (token === null) {
    redirect(res, '/status');
    return;
  }
  if (typeof given !== 'string' || !tokenMatches(token, given)) {
    if (wantsHtml(req)) redirect(res, '/login?failed');
    else fail(res, 401, 'unauthorised', 'wrong admin token');
    return;
  }
  res.setHeader('set-cookie', sessionCookie(token));
  redirect(res, '/status');
}

/** POST /admin/rollouts/{pool}/{group}/{action}; `weight` takes `{"weight": n}` or `?weight=n`. */
async function handleRolloutAction(deps: AdminDeps, req: IncomingMessage, res: ServerResponse, pool: string, group: string, action: RolloutAction): Promise<void> {
  if (req.method !== 'POST') {
    res.setHeader('allow', 'POST');
    fail(res, 405, 'method-not-allowed', 'write actions are POST only');
    return;
  }
  const body = await readBody(req);
  let weight: number | undefined;
  if (action === 'weight') {
    const q = new URL(req.url ?? '/', 'http://admin').searchParams.get('weight');
    let raw: unknown = q;
    if (raw === null && body.length > 0) {
      try {
        raw = (JSON.parse(body) as { weight?: unknown }).weight;
      } catch {
        fail(res, 400, 'bad-request', 'body must be JSON like {"weight": 25}');
        return;
      }
    }
    weight = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : Number.NaN;
    if (!Number.isFinite(weight) || weight < 0 || weight > 100) {
      fail(res, 400, 'bad-request', 'weight must be a number from 0 to 100 ({"weight": 25} or ?weight=25)');
      return;
    }
  }
  const result = await deps.rollouts.act(pool, group, action, weight);
  if (result === null) {
    fail(res, 404, 'unknown-rollout', `no rollout on pool ${JSON.stringify(pool)}, group ${JSON.stringify(group)}`);
    return;
  }
  if (result.refused !== undefined) {
    fail(res, 503, 'coordination-unavailable', result.refused, { rollout: result.view });
    return;
  }
  if (result.conflict !== undefined) {
    fail(res, 409, 'conflict', result.conflict, { rollout: result.view });
    return;
  }
  if (!result.changed) {
    fail(res, 409, 'no-change', `${action} does not apply in state ${result.view.state}`, { rollout: result.view });
    return;
  }
  json(res, 200, { rollout: result.view });
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      text += c;
      if (text.length > MAX_ACTION_BODY) req.destroy(new Error('body too large'));
    });
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });
}

/** A JSON object body, or null after answering 400. */
async function readJsonBody(req: IncomingMessage, res: ServerResponse, example: string): Promise<Record<string, unknown> | null> {
  const text = await readBody(req);
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // answered below
  }
  fail(res, 400, 'bad-request', `body must be JSON like ${example}`);
  return null;
}

/** `{"weight": n}`, an integer from 0 to max, or null after answering 400. */
async function readWeight(req: IncomingMessage, res: ServerResponse, max: number): Promise<number | null> {
  const body = await readJsonBody(req, res, '{"weight": 5}');
  if (body === null) return null;
  if (!validWeight(body.weight, max)) {
    fail(res, 400, 'bad-request', `weight must be an integer from 0 to ${max} ({"weight": 5})`);
    return null;
  }
  return body.weight;
}

function validWeight(w: unknown, max: number): w is number {
  return typeof w === 'number' && Number.isInteger(w) && w >= 0 && w <= max;
}

function view(deps: AdminDeps, b: Backend): ReturnType<typeof backendView> {
  return backendView(b, deps.now(), deps.recent(b), deps.changes.mark(b));
}

function wantsHtml(req: IncomingMessage): boolean {
  return (req.headers.accept ?? '').includes('text/html');
}

function html(res: ServerResponse, status: number, page: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(page) });
  res.end(page);
}

function redirect(res: ServerResponse, location: string): void {
  res.writeHead(303, { location, 'content-length': 0, 'cache-control': 'no-store' });
  res.end();
}

function refuse(res: ServerResponse, r: Refusal): void {
  fail(res, r.status, r.code, r.message, r.extra);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  writeJson(res, status, JSON.stringify(body));
}

/** Admin errors look like every other infergate error (proxy/error-body.ts). */
function fail(res: ServerResponse, status: number, code: string, message: string, extra?: Record<string, unknown>): void {
  writeJson(res, status, errorBody({ code, message }, null, extra));
}

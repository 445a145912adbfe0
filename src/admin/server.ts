// The admin listener: /healthz, /readyz, /metrics, /admin/backends (loopback by default, token when set).
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { Backend } from '../backends/backend.js';
import type { Cluster } from '../cluster/cluster.js';
import type { Registry } from 'prom-client';
import { errorBody, writeJson } from '../proxy/error-body.js';
import type { RolloutAction, RolloutManager } from '../rollout/manager.js';
import { backendView, type RecentTraffic } from './backends-view.js';
import { STATUS_PAGE } from './status-page.js';

export interface AdminDeps {
  /** What /metrics exposes. */
  registry: Registry;
  /** The bearer token in force (read per request, so a reload can set or rotate it). */
  token(): string | null;
  now: () => number;
  pools(): Iterable<Cluster>;
  /** True once shutdown began: /readyz turns 503 so the balancer is taken out of rotation. */
  draining(): boolean;
  /** Write actions on one backend; each returns the backend, or null when the id is unknown. */
  actions: BackendActions;
  rollouts: Pick<RolloutManager, 'views' | 'act'>;
  /** A backend's recent traffic from its pool's outlier detector, or null when detection is off. */
  recent(b: Backend): RecentTraffic | null;
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
const MAX_ACTION_BODY = 4096;

export function createAdminServer(deps: AdminDeps): http.Server {
  return http.createServer((req, res) => {
    handle(deps, req, res).catch((err: Error) => fail(res, 500, 'internal-error', err.message));
  });
}

async function handle(deps: AdminDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  if (path.startsWith('/admin/') && !authorised(deps.token(), req)) {
    res.setHeader('www-authenticate', 'Bearer');
    fail(res, 401, 'unauthorised', 'admin token required (Authorization: Bearer <token>)');
    return;
  }
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
    else json(res, 200, { backend: backendView(b, deps.now(), deps.recent(b)) });
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    fail(res, 405, 'method-not-allowed', 'the admin API answers GET and HEAD here');
    return;
  }
  switch (path) {
    case '/healthz':
      json(res, 200, { status: 'ok' });
      return;
    case '/readyz': {
      const notReady: string[] = [];
      for (const p of deps.pools()) if (!p.hasReady()) notReady.push(p.name);
      if (deps.draining()) json(res, 503, { status: 'draining' });
      else if (notReady.length > 0) json(res, 503, { status: 'not-ready', poolsWithoutReadyBackend: notReady });
      else json(res, 200, { status: 'ready' });
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
      json(res, 200, { backends: backends.map((b) => backendView(b, now, deps.recent(b))) });
      return;
    }
    case '/status':
      // Static HTML; the data it shows comes from /admin/* (token from ?token= when one is configured).
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(STATUS_PAGE) });
      res.end(STATUS_PAGE);
      return;
    case '/admin/rollouts':
      json(res, 200, { rollouts: deps.rollouts.views() });
      return;
    default:
      fail(res, 404, 'not-found', 'no such admin endpoint');
  }
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
  const result = deps.rollouts.act(pool, group, action, weight);
  if (result === null) {
    fail(res, 404, 'unknown-rollout', `no rollout on pool ${JSON.stringify(pool)}, group ${JSON.stringify(group)}`);
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

function authorised(token: string | null, req: IncomingMessage): boolean {
  if (token === null) return true;
  const header = req.headers.authorization ?? '';
  const given = Buffer.from(header.startsWith('Bearer ') ? header.slice(7) : '');
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  writeJson(res, status, JSON.stringify(body));
}

/** Admin errors look like every other infergate error (proxy/error-body.ts). */
function fail(res: ServerResponse, status: number, code: string, message: string, extra?: Record<string, unknown>): void {
  writeJson(res, status, errorBody({ code, message }, null, extra));
}

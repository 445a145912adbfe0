// Cross-field checks on the raw (interpolated) tree, run even when other values are invalid so every error shows at once.

import { existsSync, readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { dirname, resolve } from 'node:path';
import { checkListeners, listenerAddresses } from './check-listeners.js';
import { didYouMean, formatPath, type PathIssue } from './errors.js';
import { formatListen, isLoopback, listenersClash, parseBackendUrl, parseListen } from './units.js';
import type { ListenAddress } from './types.js';

type Raw = Record<string, unknown>;

/**
 * A token that guards a listener reachable from the network must not be guessable: 16 characters of `openssl rand -hex`
 * are 64 bits, out of reach of online guessing at any request rate, and the length refuses placeholders (s3cret, changeme).
 */
export const MIN_ADMIN_TOKEN_LENGTH = 16;

function isRecord(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function backendUrlOf(entry: unknown): string | null {
  if (typeof entry === 'string') return entry;
  if (isRecord(entry) && typeof entry.url === 'string') return entry.url;
  return null;
}

function listenOf(value: unknown, fallback: string): ListenAddress | null {
  const v = value === undefined ? fallback : value;
  if (typeof v !== 'string' && typeof v !== 'number') return null;
  const r = parseListen(v);
  return r.ok ? r.value : null;
}

function checkWarmup(name: string, pool: Raw, baseDir: string, out: PathIssue[]): void {
  const w = pool.warmup;
  if (!isRecord(w)) return;
  const at = ['pools', name, 'warmup'];
  if (w.body !== undefined && w.bodyFile !== undefined) out.push({ path: [...at, 'bodyFile'], atKey: true, message: 'set either body or bodyFile, not both' });
  if (typeof w.bodyFile === 'string' && !existsSync(resolve(baseDir, w.bodyFile))) {
    out.push({ path: [...at, 'bodyFile'], message: `file not found: ${resolve(baseDir, w.bodyFile)}` });
  }
  if (w.slowStart !== undefined && pool.slowStart !== undefined) {
    out.push({ path: [...at, 'slowStart'], atKey: true, message: 'slowStart is set on the pool too: set it once' });
  }
}

/** Admission needs somewhere to read the model from: the generic http preset has no metadata endpoint of its own. */
function checkModel(name: string, pool: Raw, out: PathIssue[]): void {
  const health = isRecord(pool.health) ? pool.health : null;
  const model = health !== null && isRecord(health.model) ? health.model : null;
  if (model === null) return;
  const preset = health!.preset ?? 'http';
  const checks = model.name !== undefined || model.version !== undefined || model.md5 !== undefined;
  if (preset === 'grpc' && checks) {
    out.push({ path: ['pools', name, 'health', 'model'], atKey: true, message: 'preset grpc (grpc.health.v1) reports a serving status, no model: use preset kserve-v2 or triton (gRPC ModelMetadata) to check the model' });
  }
  if (preset === 'http' && checks && model.metadataPath === undefined) {
    out.push({ path: ['pools', name, 'health', 'model'], atKey: true, message: 'preset http has no metadata endpoint: set model.metadataPath (and versionPointer / checksumPointer) so the model can be checked' });
  }
}

/**
 * TLS to backends: every file named must be readable and, together, make a TLS context (a PEM that does not parse,
 * a key that does not fit the certificate); checked here so that the error has the key's file:line:col.
 */
function checkUpstreamTls(name: string, pool: Raw, baseDir: string, out: PathIssue[]): void {
  const t = pool.tls;
  if (!isRecord(t)) return;
  const at = ['pools', name, 'tls'];
  const pem: Record<string, Buffer> = {};
  let readable = true;
  for (const key of ['ca', 'cert', 'key'] as const) {
    const file = t[key];
    if (typeof file !== 'string' || file === '') continue;
    const path = resolve(baseDir, file);
    try {
      pem[key] = readFileSync(path);
    } catch (err) {
      readable = false;
      const code = (err as NodeJS.ErrnoException).code;
      out.push({ path: [...at, key], message: code === 'ENOENT' ? `file not found: ${path}` : `cannot read ${path}: ${(err as Error).message}` });
    }
  }
  if ((t.cert === undefined) !== (t.key === undefined)) {
    out.push({ path: [...at, t.cert === undefined ? 'key' : 'cert'], atKey: true, message: 'a client certificate needs both cert and key' });
    return;
  }
  if (!readable) return;
  try {
    createSecureContext({ ca: pem.ca, cert: pem.cert, key: pem.key });
  } catch (err) {
    out.push({ path: at, atKey: true, message: `invalid TLS files: ${(err as Error).message}` });
  }
}

/** gRPC health checks ride on HTTP/2: preset grpc on an HTTP/1.1 pool could never pass. */
function checkProtocol(name: string, pool: Raw, out: PathIssue[]): void {
  const health = isRecord(pool.health) ? pool.health : null;
  if (health?.preset === 'grpc' && pool.protocol !== 'h2') {
    out.push({ path: ['pools', name, 'health', 'preset'], message: 'preset grpc probes over gRPC, which needs HTTP/2: set protocol: h2 on the pool' });
  }
}

/** Rollouts need a group to compare with; pinned groups must exist. */
function checkGroups(name: string, pool: Raw, out: PathIssue[]): void {
  const at = ['pools', name];
  const groups = isRecord(pool.groups) ? pool.groups : null;
  const names = groups ? Object.keys(groups) : pool.backends !== undefined ? ['default'] : [];
  if (groups) {
    const withRollout = Object.entries(groups).filter(([, g]) => isRecord(g) && g.rollout !== undefined).map(([g]) => g);
    for (const g of withRollout) {
      if (names.length < 2) out.push({ path: [...at, 'groups', g, 'rollout'], atKey: true, message: 'a rollout compares its group with another: add a stable group' });
    }
    if (withRollout.length > 1) out.push({ path: [...at, 'groups', withRollout[1]!, 'rollout'], atKey: true, message: `only one group per pool may have a rollout (already on ${withRollout[0]})` });
  }
  const pin = pool.pinHeader;
  if (isRecord(pin) && Array.isArray(pin.allow)) {
    pin.allow.forEach((g, i) => {
      if (typeof g === 'string' && !names.includes(g)) out.push({ path: [...at, 'pinHeader', 'allow', i], message: `unknown group '${g}'${didYouMean(g, names) || ` (groups: ${names.join(', ')})`}` });
    });
  }
}

function checkPool(name: string, pool: Raw, out: PathIssue[]): void {
  const at = ['pools', name];
  const hasBackends = pool.backends !== undefined;
  const hasGroups = pool.groups !== undefined;
  const hasDiscover = pool.discover !== undefined;
  if ([hasBackends, hasGroups, hasDiscover].filter(Boolean).length > 1) {
    const second = hasGroups ? 'groups' : 'discover';
    out.push({ path: [...at, second], atKey: true, label: at, message: 'set one of backends, discover or groups, not several' });
    return;
  }
  if (!hasBackends && !hasGroups && !hasDiscover) {
    out.push({ path: at, atKey: true, message: 'needs backends (or discover, or groups)' });
    return;
  }
  if (hasDiscover) return;
  if (isRecord(pool.groups)) {
    for (const [g, group] of Object.entries(pool.groups)) {
      if (!isRecord(group)) continue;
      if (group.backends !== undefined && group.discover !== undefined) {
        out.push({ path: [...at, 'groups', g, 'discover'], atKey: true, message: 'set either backends or discover, not both' });
      } else if (group.backends === undefined && group.discover === undefined) {
        out.push({ path: [...at, 'groups', g], atKey: true, message: 'needs backends (or discover)' });
      }
    }
  }
  // Every backend list of the pool, with its path: direct backends are the implicit group "default".
  const lists: Array<[PropertyKey[], unknown]> = [];
  if (hasBackends) lists.push([[...at, 'backends'], pool.backends]);
  else if (isRecord(pool.groups)) {
    for (const [g, group] of Object.entries(pool.groups)) {
      if (isRecord(group) && group.discover === undefined) lists.push([[...at, 'groups', g, 'backends'], group.backends]);
    }
  } else return; // the schema reports the wrong type
  let total = 0;
  const seen = new Map<string, PropertyKey[]>();
  for (const [path, list] of lists) {
    if (!Array.isArray(list)) continue;
    list.forEach((entry, i) => {
      total++;
      const text = backendUrlOf(entry);
      const parsed = text === null ? null : parseBackendUrl(text);
      if (!parsed?.ok) return;
      const here = typeof entry === 'string' ? [...path, i] : [...path, i, 'url'];
      const first = seen.get(parsed.value.origin);
      if (first) out.push({ path: here, message: `duplicate backend ${parsed.value.origin} (already at ${formatPath(first)})` });
      else seen.set(parsed.value.origin, here);
    });
  }
  const allLists = lists.every(([, l]) => Array.isArray(l));
  const anyDiscover = isRecord(pool.groups) && Object.values(pool.groups).some((g) => isRecord(g) && g.discover !== undefined);
  if (total === 0 && allLists && !anyDiscover) {
    out.push({ path: hasBackends ? [...at, 'backends'] : [...at, 'groups'], message: 'pool has no backends' });
  }
}

export function crossChecks(raw: unknown, file: string): PathIssue[] {
  const baseDir = dirname(file);
  const out: PathIssue[] = [];
  if (!isRecord(raw)) return out;
  const pools = isRecord(raw.pools) ? raw.pools : null;
  const poolNames = pools ? Object.keys(pools) : [];

  if (pools) {
    if (poolNames.length === 0) out.push({ path: ['pools'], message: 'define at least one pool' });
    for (const [name, pool] of Object.entries(pools)) {
      if (!isRecord(pool)) continue;
      checkPool(name, pool, out);
      checkWarmup(name, pool, baseDir, out);
      checkGroups(name, pool, out);
      checkModel(name, pool, out);
      checkUpstreamTls(name, pool, baseDir, out);
      checkProtocol(name, pool, out);
    }
  }

  const routes = raw.routes;
  if (Array.isArray(routes)) {
    routes.forEach((route, i) => {
      if (!pools || !isRecord(route) || typeof route.pool !== 'string') return;
      if (!Object.hasOwn(pools, route.pool)) {
        out.push({ path: ['routes', i, 'pool'], message: `unknown pool '${route.pool}'${didYouMean(route.pool, poolNames) || ` (pools: ${poolNames.join(', ')})`}` });
      }
    });
  }
  const noRoutes = routes === undefined || routes === null || (Array.isArray(routes) && routes.length === 0);
  if (noRoutes && poolNames.length > 1) {
    out.push({ path: ['pools'], atKey: true, message: `${poolNames.length} pools but no routes: add routes or keep one pool` });
  }

  const admin = isRecord(raw.admin) ? raw.admin : {};
  checkListeners(raw.listen, baseDir, out);
  const adminAt = listenOf(admin.listen, '127.0.0.1:9901');
  const adminPath = admin.listen === undefined ? (raw.admin === undefined ? [] : ['admin']) : ['admin', 'listen'];
  const proxyAt = adminAt === null ? undefined : listenerAddresses(raw.listen).find((l) => listenersClash(l, adminAt));
  if (proxyAt && adminAt) {
    out.push({ path: adminPath, label: ['admin', 'listen'], message: `${formatListen(adminAt)} clashes with listen ${formatListen(proxyAt)}; use another port` });
  }
  const token = admin.token;
  if (adminAt && !isLoopback(adminAt.host) && (token === undefined || token === null || token === '')) {
    out.push({
      path: adminPath,
      label: ['admin', 'listen'],
      message: `${formatListen(adminAt)} is not loopback: set admin.token (e.g. token: \${INFERGATE_ADMIN_TOKEN})`,
    });
  } else if (adminAt && !isLoopback(adminAt.host) && typeof token === 'string' && token.length < MIN_ADMIN_TOKEN_LENGTH) {
    out.push({
      path: ['admin', 'token'],
      message: `the admin listener ${formatListen(adminAt)} is not loopback: admin.token must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters (it has ${token.length}); generate one with \`openssl rand -hex 16\``,
    });
  }
  return out;
}

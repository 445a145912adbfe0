// Turns the validated YAML shape into the normalised `Config` (ms, bytes, parsed URLs, ids, Maps and Sets).

import type { ParsedConfig, ParsedPool } from './schema.js';
import type { BackendConfig, Config, GroupConfig, PoolConfig, RouteConfig } from './types.js';
import { effectivePort } from './units.js';

type ParsedBackends = NonNullable<ParsedPool['backends']>;

function backends(pool: string, group: string, list: ParsedBackends): BackendConfig[] {
  return list.map((entry) => {
    const { url: text, weight } = typeof entry === 'string' ? { url: entry, weight: 1 } : entry;
    const url = new URL(text);
    return { id: `${pool}.${group}.${url.hostname}:${effectivePort(url)}`, url, origin: url.origin, weight };
  });
}

function groups(pool: string, p: ParsedPool): GroupConfig[] {
  if (p.backends) return [{ name: 'default', weight: 100, backends: backends(pool, 'default', p.backends) }];
  return Object.entries(p.groups ?? {}).map(([name, g]) => ({ name, weight: g.weight, backends: backends(pool, name, g.backends) }));
}

const upper = (methods: readonly string[]): Set<string> => new Set(methods.map((m) => m.toUpperCase()));

function pool(name: string, p: ParsedPool): PoolConfig {
  const r = p.health.readiness;
  return {
    name,
    balance: p.balance,
    hostHeader: p.hostHeader === '' ? null : p.hostHeader,
    groups: groups(name, p),
    timeouts: { connectMs: p.timeouts.connect, firstByteMs: p.timeouts.firstByte, idleMs: p.timeouts.idle, totalMs: p.timeouts.total },
    upstream: { connections: p.upstream.connections, keepAliveMs: p.upstream.keepAlive, pipelining: p.upstream.pipelining },
    retry: {
      attempts: p.retry.attempts,
      methods: upper(p.retry.methods),
      budgetPercent: p.retry.budget,
      minRetryConcurrency: p.retry.minRetryConcurrency,
      bufferBodyBytes: p.retry.bufferBody,
    },
    health: {
      preset: p.health.preset,
      jitter: p.health.jitter,
      readiness: {
        path: r.path,
        method: r.method.toUpperCase(),
        intervalMs: r.interval,
        timeoutMs: r.timeout,
        healthyThreshold: r.healthyThreshold,
        unhealthyThreshold: r.unhealthyThreshold,
        expectStatus: r.expectStatus,
        expectBody: r.expectBody,
        headers: r.headers,
      },
    },
    maxBodyBytes: p.maxBodySize,
  };
}

/** Host header value without its port, lower-cased ("API.example.com:8080" -> "api.example.com"). */
function bareHost(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const colon = h.indexOf(':');
  return colon === -1 ? h : h.slice(0, colon);
}

function routes(parsed: ParsedConfig): RouteConfig[] {
  // No routes means everything goes to the only pool: an explicit catch-all keeps the router simple.
  if (!parsed.routes || parsed.routes.length === 0) {
    const only = Object.keys(parsed.pools)[0];
    return only === undefined ? [] : [{ match: { pathPrefix: null, path: null, host: null, headers: [], methods: null }, pool: only }];
  }
  return parsed.routes.map(({ match, pool: target }) => ({
    pool: target,
    match: {
      pathPrefix: match.pathPrefix ?? null,
      path: match.path ?? null,
      host: match.host === undefined ? null : bareHost(match.host),
      headers: Object.entries(match.headers ?? {}).map(([k, v]): [string, string] => [k.toLowerCase(), v]),
      methods: match.methods ? upper(match.methods) : null,
    },
  }));
}

export function normalise(parsed: ParsedConfig, source: string): Config {
  return {
    source,
    listen: parsed.listen,
    admin: { listen: parsed.admin.listen, token: parsed.admin.token === '' ? null : parsed.admin.token },
    server: {
      keepAliveTimeoutMs: parsed.server.keepAliveTimeout,
      headersTimeoutMs: parsed.server.headersTimeout,
      requestTimeoutMs: parsed.server.requestTimeout,
      maxHeaderBytes: parsed.server.maxHeaderSize,
    },
    shutdown: { drainTimeoutMs: parsed.shutdown.drainTimeout },
    log: { level: parsed.log.level, accessLog: parsed.log.accessLog },
    routes: routes(parsed),
    pools: new Map(Object.entries(parsed.pools).map(([name, p]) => [name, pool(name, p)])),
  };
}

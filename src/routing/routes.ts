// Route table: first match wins on path prefix, exact path, host, headers and methods.
import type { IncomingMessage } from 'node:http';
import type { RouteConfig } from '../config/types.js';

export interface CompiledRoute<P> {
  readonly config: RouteConfig;
  readonly pool: P;
}

export class Router<P> {
  readonly #routes: readonly CompiledRoute<P>[];
  /** With no routes and one pool, everything goes there without any matching work. */
  readonly #only: CompiledRoute<P> | null;

  /** `only`: the single pool of a configuration without routes (its route is named ''). */
  constructor(routes: readonly CompiledRoute<P>[], only: P | null) {
    this.#routes = routes;
    // A first route that matches everything (what normalise writes for "no routes, one pool") always wins.
    const first = routes[0];
    this.#only = first !== undefined && matchesAll(first.config) ? first : only === null ? null : { config: CATCH_ALL, pool: only };
  }

  /** The first matching route (its pool and its name), or null. */
  match(req: IncomingMessage): CompiledRoute<P> | null {
    if (this.#only !== null) return this.#only;
    const url = req.url ?? '/';
    // Where the path ends (the query is not part of it), found once and without slicing.
    const q = url.indexOf('?');
    const pathEnd = q === -1 ? url.length : q;
    for (const r of this.#routes) if (matches(r.config, req, url, pathEnd)) return r;
    return null;
  }
}

const CATCH_ALL: RouteConfig = { name: '', match: { pathPrefix: null, path: null, host: null, headers: [], methods: null }, pool: '' };

function matchesAll(route: RouteConfig): boolean {
  const m = route.match;
  return m.path === null && m.pathPrefix === null && m.methods === null && m.host === null && m.headers.length === 0;
}

function matches(route: RouteConfig, req: IncomingMessage, url: string, pathEnd: number): boolean {
  const m = route.match;
  if (m.path !== null && (pathEnd !== m.path.length || !url.startsWith(m.path))) return false;
  if (m.pathPrefix !== null && (m.pathPrefix.length > pathEnd || !url.startsWith(m.pathPrefix))) return false;
  if (m.methods !== null && !m.methods.has(req.method ?? '')) return false;
  if (m.host !== null && hostOf(req) !== m.host) return false;
  for (const [name, value] of m.headers) if (req.headers[name] !== value) return false;
  return true;
}

/** Lower-case host without port, from the Host header. */
export function hostOf(req: IncomingMessage): string {
  const host = req.headers.host ?? '';
  const end = host.startsWith('[') ? host.indexOf(']') + 1 : host.lastIndexOf(':');
  return (end > 0 ? host.slice(0, end) : host).toLowerCase();
}

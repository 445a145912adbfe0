// Route table: first match wins on path prefix, exact path, host, headers and methods.
import type { IncomingMessage } from 'node:http';
import type { RouteConfig } from '../config/types.js';

export interface CompiledRoute<P> {
  readonly config: RouteConfig;
  readonly pool: P;
}

/** Below this many routes, walking them all costs about what the look-up of the path's first segment does. */
const INDEX_FROM = 8;

export class Router<P> {
  readonly #routes: readonly CompiledRoute<P>[];
  /** With no routes and one pool, everything goes there without any matching work. */
  readonly #only: CompiledRoute<P> | null;
  /**
   * Per first path segment that some route requires ("v1" for `pathPrefix: /v1/` or `path: /v1/models`): the routes a
   * request with that segment can match — those requiring it and those requiring none — in file order. First match
   * stays first match, but a request walks only its candidates, not every route (200 routes: ~200 checks each).
   * Null below INDEX_FROM routes or when no route requires a segment.
   */
  readonly #bySegment: ReadonlyMap<string, readonly CompiledRoute<P>[]> | null = null;
  /** The routes that require no first segment, in file order: the candidates of a segment no route names. */
  readonly #unkeyed: readonly CompiledRoute<P>[];

  /** `only`: the single pool of a configuration without routes (its route is named ''). */
  constructor(routes: readonly CompiledRoute<P>[], only: P | null) {
    this.#routes = routes;
    // A first route that matches everything (what normalise writes for "no routes, one pool") always wins.
    const first = routes[0];
    this.#only = first !== undefined && matchesAll(first.config) ? first : only === null ? null : { config: CATCH_ALL, pool: only };
    const keys = routes.map((r) => requiredSegment(r.config));
    this.#unkeyed = routes.filter((_, i) => keys[i] === null);
    if (routes.length >= INDEX_FROM && this.#unkeyed.length < routes.length) {
      const index = new Map<string, CompiledRoute<P>[]>();
      for (const key of keys) if (key !== null && !index.has(key)) index.set(key, routes.filter((_, i) => keys[i] === null || keys[i] === key));
      this.#bySegment = index;
    }
  }

  /** The first matching route (its pool and its name), or null. */
  match(req: IncomingMessage): CompiledRoute<P> | null {
    if (this.#only !== null) return this.#only;
    const url = req.url ?? '/';
    // Where the path ends (the query is not part of it), found once and without slicing.
    const q = url.indexOf('?');
    const pathEnd = q === -1 ? url.length : q;
    let routes = this.#routes;
    const index = this.#bySegment;
    // A path that does not start with "/" (absolute-form, "*") can match no route that requires a segment.
    if (index !== null) routes = (url.charCodeAt(0) === SLASH ? index.get(firstSegment(url, pathEnd)) : undefined) ?? this.#unkeyed;
    for (const r of routes) if (matches(r.config, req, url, pathEnd)) return r;
    return null;
  }
}

const SLASH = 47;

/** The request path's first segment: from after the leading "/" to the next "/" or the end of the path. */
function firstSegment(url: string, pathEnd: number): string {
  const slash = url.indexOf('/', 1);
  return url.slice(1, slash === -1 || slash > pathEnd ? pathEnd : slash);
}

/**
 * The first path segment every request this route matches has, or null when it requires none: an exact path names
 * it whole; a prefix only when the segment ends inside it (`/v1/` does, `/v1` does not: it also matches `/v10/x`).
 */
function requiredSegment(route: RouteConfig): string | null {
  const m = route.match;
  if (m.path !== null) return firstSegment(m.path, m.path.length);
  if (m.pathPrefix !== null) {
    const slash = m.pathPrefix.indexOf('/', 1);
    return slash === -1 ? null : m.pathPrefix.slice(1, slash);
  }
  return null;
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

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
  readonly #only: P | null;

  constructor(routes: readonly CompiledRoute<P>[], only: P | null) {
    this.#routes = routes;
    this.#only = only;
  }

  match(req: IncomingMessage): P | null {
    if (this.#only !== null) return this.#only;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    for (const r of this.#routes) if (matches(r.config, req, path)) return r.pool;
    return null;
  }
}

function matches(route: RouteConfig, req: IncomingMessage, path: string): boolean {
  const m = route.match;
  if (m.path !== null && path !== m.path) return false;
  if (m.pathPrefix !== null && !path.startsWith(m.pathPrefix)) return false;
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

// Header hygiene both ways: hop-by-hop headers removed, X-Forwarded-* and x-request-id set.
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-connection',
  'proxy-authenticate', 'proxy-authorization',
]);

/** Header names the client asked to be treated as hop-by-hop via `Connection: a, b`. */
function connectionNamed(value: string | undefined): Set<string> | null {
  if (!value) return null;
  let named: Set<string> | null = null;
  for (const token of value.split(',')) {
    const name = token.trim().toLowerCase();
    if (name && name !== 'close' && name !== 'keep-alive') (named ??= new Set()).add(name);
  }
  return named;
}

function isHopByHop(lower: string, named: Set<string> | null): boolean {
  return HOP_BY_HOP.has(lower) || lower.startsWith('proxy-') || (named !== null && named.has(lower));
}

export interface ForwardedInfo {
  requestId: string;
  /** Host header to send instead of the client's (pool `hostHeader`), or null. */
  hostOverride: string | null;
}

/**
 * Headers to send upstream, as undici's flat [name, value, ...] array, built in one pass over the
 * raw headers so duplicates and order survive.
 */
export function upstreamRequestHeaders(req: IncomingMessage, info: ForwardedInfo): string[] {
  const raw = req.rawHeaders;
  const named = connectionNamed(req.headers.connection);
  const out: string[] = [];
  let xff: string | null = null;
  let host: string | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const lower = name.toLowerCase();
    if (isHopByHop(lower, named)) continue;
    switch (lower) {
      case 'host':
        host = value;
        continue;
      case 'x-forwarded-for':
        xff = xff === null ? value : `${xff}, ${value}`;
        continue;
      case 'x-forwarded-proto':
      case 'x-forwarded-host':
      case 'x-request-id':
      // Node already answered `100 Continue` to the client; undici refuses to send Expect upstream.
      case 'expect':
        continue;
    }
    out.push(name, value);
  }
  const remote = req.socket.remoteAddress ?? '';
  out.push('x-forwarded-for', xff === null ? remote : `${xff}, ${remote}`);
  out.push('x-forwarded-proto', 'http');
  if (host !== null) out.push('x-forwarded-host', host);
  out.push('x-request-id', info.requestId);
  const upstreamHost = info.hostOverride ?? host;
  if (upstreamHost !== null) out.push('host', upstreamHost);
  return out;
}

/** Remove hop-by-hop headers from a backend's response headers object, in place. */
export function cleanResponseHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const conn = headers.connection;
  const named = connectionNamed(Array.isArray(conn) ? conn.join(',') : conn);
  for (const name of Object.keys(headers)) {
    if (isHopByHop(name, named)) delete headers[name];
  }
  return headers;
}

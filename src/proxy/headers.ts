// Header hygiene both ways: hop-by-hop headers removed, X-Forwarded-*, X-Real-IP and x-request-id set.
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { isHttp2Request } from './protocol.js';

const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-connection',
  'proxy-authenticate', 'proxy-authorization',
]);

/** Header names the peer asked to be treated as hop-by-hop via `Connection: a, b`. */
function connectionNamed(value: string | undefined): Set<string> | null {
  // The usual values name no header: skip the split (this runs twice per request).
  if (!value || value === 'keep-alive' || value === 'close' || value === 'Keep-Alive' || value === 'Close') return null;
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
  /** The real client (proxy/client-address.ts): sent as X-Real-IP. Default: the peer. */
  client?: string;
  /** The peer is a trusted proxy: its Forwarded header is passed on. Default: false. */
  peerTrusted?: boolean;
}

/**
 * Headers to send upstream, as undici's flat [name, value, ...] array, built in one pass over the
 * raw headers so duplicates and order survive.
 */
export function upstreamRequestHeaders(req: IncomingMessage, info: ForwardedInfo): string[] {
  const raw = req.rawHeaders;
  const named = connectionNamed(req.headers.connection);
  const h2 = isHttp2Request(req);
  const out: string[] = [];
  let xff: string | null = null;
  let host: string | null = null;
  let cookie: string | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const lower = name.toLowerCase();
    // HTTP/2 pseudo-headers: :authority is the Host; :method, :path and :scheme travel as the request itself.
    if (lower.charCodeAt(0) === 0x3a /* : */) {
      if (lower === ':authority') host ??= value;
      continue;
    }
    // `te: trailers` is the one TE value HTTP/2 allows (and has no Connection header to name it hop-by-hop); gRPC
    // servers look for it to spot proxies that drop trailers.
    if (lower === 'te' && value === 'trailers' && h2) {
      out.push(name, value);
      continue;
    }
    if (isHopByHop(lower, named)) continue;
    switch (lower) {
      case 'host':
        // HTTP/2 may carry both; strict.ts made sure they agree.
        host ??= value;
        continue;
      case 'x-forwarded-for':
        xff = xff === null ? value : `${xff}, ${value}`;
        continue;
      // HTTP/2 clients split cookies into several fields; an HTTP/1.1 hop needs them as one (RFC 9113 §8.2.3).
      case 'cookie':
        if (!h2) break;
        cookie = cookie === null ? value : `${cookie}; ${value}`;
        continue;
      // A Forwarded header (RFC 7239) from an untrusted peer is whatever the client wrote: not passed on, since we do
      // not append to it. From a trusted proxy it is passed on as it came.
      case 'forwarded':
        if (info.peerTrusted === true) break;
        continue;
      // Replaced by ours (the client as resolved from a trusted proxy's X-Forwarded-For, else the peer), as nginx's
      // `proxy_set_header X-Real-IP $remote_addr` does: a client cannot choose its own.
      case 'x-real-ip':
      case 'x-forwarded-proto':
      case 'x-forwarded-host':
      case 'x-request-id':
      // Node already answered `100 Continue` to the client; undici refuses to send Expect upstream.
      case 'expect':
        continue;
    }
    out.push(name, value);
  }
  if (cookie !== null) out.push('cookie', cookie);
  const remote = req.socket.remoteAddress ?? '';
  // Appended to, never replaced (nginx's $proxy_add_x_forwarded_for): the right-most entry is always the peer we saw.
  out.push('x-forwarded-for', xff === null ? remote : `${xff}, ${remote}`);
  out.push('x-real-ip', info.client ?? remote);
  out.push('x-forwarded-proto', (req.socket as { encrypted?: boolean } | undefined)?.encrypted === true ? 'https' : 'http');
  if (host !== null) out.push('x-forwarded-host', host);
  out.push('x-request-id', info.requestId);
  const upstreamHost = info.hostOverride ?? host;
  if (upstreamHost !== null) out.push('host', upstreamHost);
  return out;
}

/** A response head for `res.writeHead` as a flat [name, value, ...] list; a value may be a list (Set-Cookie). */
export type HeaderList = Array<string | string[]>;

/**
 * The backend's response headers without hop-by-hop ones, plus `x-request-id` (and `connection: close`
 * when `close`), as a flat list for `res.writeHead`. A new list rather than `delete` on undici's object:
 * deleting turns the object into a slow dictionary that node's header serialisation then walks.
 */
export function responseHeaderList(headers: IncomingHttpHeaders, requestId: string, close: boolean): HeaderList {
  const conn = headers.connection;
  const named = conn === undefined ? null : connectionNamed(Array.isArray(conn) ? conn.join(',') : conn);
  const out: HeaderList = [];
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || isHopByHop(name, named)) continue;
    // The backend's own id is replaced by ours, as the request's was.
    if (name === 'x-request-id') continue;
    out.push(name, value);
  }
  out.push('x-request-id', requestId);
  if (close) out.push('connection', 'close');
  return out;
}

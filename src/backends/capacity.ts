// How many requests one backend can carry at once over its connection pool: the cap on a backend's in-flight count,
// so that a request never waits inside undici's own (unbounded, invisible) queue — it waits in the pool's queue,
// which has a length limit, a timeout, a 503 and metrics.
import type { UpstreamConfig } from '../config/types.js';

/**
 * Requests the connection pool can serve at once. HTTP/1.1: one per connection — pipelining adds no slot that a
 * request can count on (every method but HEAD is dispatched `blocking`, and a pipelined request waits behind the one
 * ahead of it on the wire anyway). Hook for HTTP/2 upstreams: there it is connections × the streams allowed per
 * connection (the peer's SETTINGS_MAX_CONCURRENT_STREAMS, or a configured cap) — give UpstreamConfig the protocol
 * and branch here.
 */
export function upstreamSlots(upstream: UpstreamConfig): number {
  return upstream.connections;
}

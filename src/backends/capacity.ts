// How many requests one backend can carry at once over its connection pool: the cap on a backend's in-flight count,
// so that a request never waits inside undici's own (unbounded, invisible) queue — it waits in the pool's queue,
// which has a length limit, a timeout, a 503 and metrics.
import type { UpstreamConfig } from '../config/types.js';

/** Streams undici opens per HTTP/2 connection (its h2Options.maxConcurrentStreams default; a server may allow fewer). */
export const H2_STREAMS_PER_CONNECTION = 100;

/**
 * Requests the connection pool can serve at once. HTTP/1.1: one per connection — pipelining adds no slot that a
 * request can count on (every method but HEAD is dispatched `blocking`, and a pipelined request waits behind the one
 * ahead of it on the wire anyway). HTTP/2: connections × the streams undici opens on each.
 */
export function upstreamSlots(upstream: UpstreamConfig, protocol: 'http1' | 'h2'): number {
  return protocol === 'h2' ? upstream.connections * H2_STREAMS_PER_CONNECTION : upstream.connections;
}

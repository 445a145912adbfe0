/** Drives one fixed-concurrency load run with autocannon and returns throughput, latency percentiles and errors. */
import autocannon, { type Client } from 'autocannon';
import { createHistogram } from 'node:perf_hooks';

export interface LoadOptions {
  connections: number;
  durationSec: number;
}

export interface LoadResult {
  requestsPerSec: number;
  totalRequests: number;
  /** Milliseconds, from our own microsecond histogram (autocannon's own rounds to whole ms). */
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  durationSec: number;
}

/**
 * autocannon 9 writes the next request onto a connection the server is closing (Connection: close, nginx's
 * keepalive_requests) and, after reconnecting, times every later response from that lost request's start, so
 * latency grows with each reconnect. Forget the queue on reconnect: the lost request never gets an answer.
 */
function forgetRequestsOnReconnect(client: Client): void {
  const connect = client._connect;
  let connected = false;
  client._connect = function reconnect(this: Client): void {
    if (connected) this.pipelinedRequests.clear();
    connected = true;
    connect.call(this);
  };
}

export async function runLoad(url: string, options: LoadOptions): Promise<LoadResult> {
  const latencyUs = createHistogram();
  const instance = autocannon({
    url,
    connections: options.connections,
    duration: options.durationSec,
    pipelining: 1,
    timeout: 10,
    setupClient: forgetRequestsOnReconnect,
  });
  instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTimeMs: number) => {
    if (statusCode >= 200 && statusCode < 300) latencyUs.record(Math.max(1, Math.round(responseTimeMs * 1000)));
  });
  const result = await instance;
  const percentile = (p: number): number => (latencyUs.count > 0 ? latencyUs.percentile(p) / 1000 : 0);
  // `requests.total` counts completed responses; divide by the real elapsed time, not the nominal duration.
  const durationSec = result.duration > 0 ? result.duration : options.durationSec;
  return {
    requestsPerSec: result.requests.total / durationSec,
    totalRequests: result.requests.total,
    p50Ms: percentile(50),
    p90Ms: percentile(90),
    p99Ms: percentile(99),
    maxMs: latencyUs.count > 0 ? latencyUs.max / 1000 : 0,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    durationSec,
  };
}

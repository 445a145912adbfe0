// How connections to one pool's backends are made: HTTP/1.1 or HTTP/2 (h2c prior knowledge, or ALPN over TLS), and TLS.
import type { ConnectionOptions } from 'node:tls';
import { Agent } from 'undici';
import type { PoolConfig, UpstreamTlsConfig } from '../config/types.js';

/** The undici Client options that follow from a pool's `protocol` and `tls` (shared by the traffic pool and the probe agent). */
export interface ConnectOptions {
  allowH2: boolean;
  /** Read by undici's Pool (and so by Agent) when it builds its connector; Client alone reads h2Options.useH2c. */
  useH2c?: boolean;
  h2Options?: { useH2c: boolean };
  connect: ConnectionOptions & { preferH2?: boolean };
}

/**
 * http1 never offers h2 (undici 8 would by default, and an ALPN answer of h2 would change the protocol under the
 * pool's feet); h2 is prior knowledge on plain TCP (the backend must accept HTTP/2 without an upgrade, as gRPC
 * servers do) and ALPN h2 first over TLS.
 */
export function connectOptions(pool: Pick<PoolConfig, 'protocol' | 'tls'>): ConnectOptions {
  const connect = tlsOptions(pool.tls);
  if (pool.protocol === 'http1') return { allowH2: false, connect };
  return { allowH2: true, useH2c: true, h2Options: { useH2c: true }, connect: { ...connect, preferH2: true } };
}

/** node:tls options from the pool's tls block (the files were read when the configuration was loaded). */
export function tlsOptions(tls: UpstreamTlsConfig | null): ConnectionOptions {
  if (tls === null) return {};
  const out: ConnectionOptions = { rejectUnauthorized: tls.verify };
  if (tls.ca !== null) out.ca = tls.ca;
  if (tls.cert !== null) out.cert = tls.cert;
  if (tls.key !== null) out.key = tls.key;
  if (tls.servername !== null) out.servername = tls.servername;
  return out;
}

/**
 * The pool needs its own probe agent when the app's shared one (HTTP/1.1, system CAs) cannot reach its backends:
 * HTTP/2 backends (an h2c server answers no HTTP/1.1) and TLS settings (CA, client certificate, server name).
 */
export function needsOwnProbeAgent(pool: Pick<PoolConfig, 'protocol' | 'tls'>): boolean {
  return pool.protocol === 'h2' || pool.tls !== null;
}

/** An agent for one backend's probes, metadata reads and warm-up: any origin (TorchServe's management port too), few connections. */
export function probeAgent(pool: Pick<PoolConfig, 'protocol' | 'tls'>): Agent {
  return new Agent({ connections: 4, pipelining: 1, ...connectOptions(pool) });
}

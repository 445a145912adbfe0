// Which attempt opened a new upstream connection. undici publishes `undici:client:connected` once per new connection
// (after TLS, if any) and, in the same synchronous call, writes the first queued request on it — whose handler's
// onRequestStart then takes the mark. Nothing runs per request: a reused connection publishes nothing.
import { subscribe } from 'node:diagnostics_channel';

/** The address a new connection reached (what a later check of that backend must ask, not a fresh DNS answer). */
export interface Peer {
  readonly address: string;
  readonly port: number;
}

const UNKNOWN: Peer = { address: '', port: 0 };
let connectedJustNow: Peer | null = null;

const clear = (): void => {
  connectedJustNow = null;
};

subscribe('undici:client:connected', (message) => {
  if (connectedJustNow !== null) return;
  const socket = (message as { socket?: { remoteAddress?: string; remotePort?: number } }).socket;
  connectedJustNow = socket?.remoteAddress !== undefined && socket.remotePort !== undefined ? { address: socket.remoteAddress, port: socket.remotePort } : UNKNOWN;
  // The connection's first request is written before this microtask runs; a mark nobody took (a probe's connection,
  // an aborted request) must not be credited to a later request on another connection.
  queueMicrotask(clear);
});

/**
 * Called by an attempt when undici starts writing it: the peer when it is the first request on a connection just
 * opened (address '' if the socket did not say), null on a reused connection.
 */
export function tookNewConnection(): Peer | null {
  const peer = connectedJustNow;
  connectedJustNow = null;
  return peer;
}

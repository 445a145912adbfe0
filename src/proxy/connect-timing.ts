// Which attempt opened a new upstream connection. undici publishes `undici:client:connected` once per new connection
// (after TLS, if any) and, in the same synchronous call, writes the first queued request on it — whose handler's
// onRequestStart then takes the mark. Nothing runs per request: a reused connection publishes nothing.
import { subscribe } from 'node:diagnostics_channel';

let connectedJustNow = false;

const clear = (): void => {
  connectedJustNow = false;
};

subscribe('undici:client:connected', () => {
  if (connectedJustNow) return;
  connectedJustNow = true;
  // The connection's first request is written before this microtask runs; a mark nobody took (a probe's connection,
  // an aborted request) must not be credited to a later request on another connection.
  queueMicrotask(clear);
});

/** Called by an attempt when undici starts writing it: true when it is the first request on a connection just opened. */
export function tookNewConnection(): boolean {
  if (!connectedJustNow) return false;
  connectedJustNow = false;
  return true;
}

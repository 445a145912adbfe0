// Is anyone still listening at a backend's address? Asked once, after a TCP reset of a request the backend never
// answered: a server that stops listening resets the connections still waiting in its accept queue, and a refused
// connect right after is what tells that reset apart from one a live server sent on purpose (SO_LINGER 0) after it
// may have acted on the request. A plain TCP connect (no TLS, no HTTP): node:net does exactly this, nothing to add.
import net from 'node:net';
import type { Clock } from '../clock.js';
import { effectivePort } from '../config/units.js';
import type { Peer } from './connect-timing.js';

/**
 * Resolves true only when a connect to `peer` (the address the reset came from; `url`'s host and port when unknown)
 * is refused within `timeoutMs`; anything else is false.
 */
export function listenerGone(peer: Peer | null, url: URL, clock: Clock, timeoutMs = 250): Promise<boolean> {
  return new Promise((resolve) => {
    const known = peer !== null && peer.address !== '';
    const port = known ? peer.port : effectivePort(url);
    const host = known ? peer.address : url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const socket = net.connect({ host, port });
    const done = (gone: boolean): void => {
      timer.cancel();
      socket.destroy();
      resolve(gone);
    };
    const timer = clock.setTimer(timeoutMs, () => done(false));
    socket.once('connect', () => done(false));
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code === 'ECONNREFUSED'));
  });
}

// h2c with prior knowledge on a cleartext port that also speaks HTTP/1.1: the first bytes decide. Node's http.Server
// has no h2c, and http2's cleartext server has no HTTP/1.1 fallback (allowHTTP1 is TLS-only), so the listener reads
// until it can tell the HTTP/2 connection preface (RFC 9113 §3.4) from an HTTP/1.x request line.
import type { Socket } from 'node:net';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export type Protocol = 'h1' | 'h2';

/**
 * Waits for the first bytes of a connection and calls `decided` with the protocol and the bytes read so far (to
 * hand on); `silent` when nothing decisive arrived within `timeoutMs` (the socket is then destroyed).
 */
export function sniffProtocol(socket: Socket, timeoutMs: number, decided: (protocol: Protocol, head: Buffer) => void, silent: () => void): void {
  let head: Buffer | null = null;
  const timer = timeoutMs > 0 ? setTimeout(() => {
    cleanup();
    silent();
    socket.destroy();
  }, timeoutMs) : null;
  const cleanup = (): void => {
    if (timer !== null) clearTimeout(timer);
    socket.off('data', onData);
    socket.off('close', onClose);
    socket.off('end', onEnd);
  };
  const onClose = (): void => cleanup();
  // node:http's server allows half-open sockets: a client that hangs up before a byte must be closed here.
  const onEnd = (): void => {
    cleanup();
    socket.destroy();
  };
  const onData = (chunk: Buffer): void => {
    head = head === null ? chunk : Buffer.concat([head, chunk]);
    const n = Math.min(head.length, PREFACE.length);
    const h2 = head.compare(PREFACE, 0, n, 0, n) === 0;
    if (h2 && head.length < PREFACE.length) return; // a prefix of the preface so far: wait for the rest
    cleanup();
    decided(h2 ? 'h2' : 'h1', head);
  };
  socket.on('data', onData);
  socket.on('close', onClose);
  socket.on('end', onEnd);
}

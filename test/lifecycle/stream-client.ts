// A raw keep-alive HTTP/1.1 client for drain tests: knows when the first body bytes arrived and when the server closed.
import net from 'node:net';

export interface StreamClient {
  /** Resolves once the response headers and `marker` have been received. */
  received(marker: string): Promise<void>;
  /** Resolves with everything received once the server has closed the connection. */
  closed: Promise<string>;
  destroy(): void;
}

export function openStream(port: number, path: string): StreamClient {
  const socket = net.connect({ port, host: '127.0.0.1' });
  let text = '';
  const waiters: Array<{ marker: string; resolve: () => void }> = [];
  socket.on('data', (c: Buffer) => {
    text += c.toString('latin1');
    for (let i = waiters.length - 1; i >= 0; i--) if (text.includes(waiters[i]!.marker)) waiters.splice(i, 1)[0]!.resolve();
  });
  socket.on('error', () => undefined);
  const closed = new Promise<string>((resolve) => socket.once('close', () => resolve(text)));
  socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
  return {
    received(marker) {
      if (text.includes(marker)) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ marker, resolve }));
    },
    closed,
    destroy: () => socket.destroy(),
  };
}

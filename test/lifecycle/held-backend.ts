// A backend whose responses start at once and finish only when the test says so (a long token stream).
import type { ServerResponse } from 'node:http';
import { startBackend, type TestBackend } from '../helpers/backend.js';

export interface HeldBackend {
  backend: TestBackend;
  /** Resolves with the n-th (1-based) held response once its request arrived and the first chunk was written. */
  arrived(n: number): Promise<ServerResponse>;
  close(): Promise<void>;
}

export async function startHeldBackend(firstChunk = 'data: 1\n\n'): Promise<HeldBackend> {
  const held: ServerResponse[] = [];
  const waiters: Array<{ n: number; resolve: (r: ServerResponse) => void }> = [];
  const backend = await startBackend((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(firstChunk);
    held.push(res);
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i]!;
      if (held.length >= w.n) {
        waiters.splice(i, 1);
        w.resolve(held[w.n - 1]!);
      }
    }
  });
  return {
    backend,
    arrived(n) {
      const r = held[n - 1];
      if (r) return Promise.resolve(r);
      return new Promise((resolve) => waiters.push({ n, resolve }));
    },
    close: () => backend.close(),
  };
}

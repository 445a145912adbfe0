// A fake model server whose readiness endpoint is scripted per test: status, body, hanging, and probe concurrency.
import http, { type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HealthBackend {
  url: string;
  port: number;
  /** Probes received so far (requests to the health path). */
  readonly probes: number;
  /** Probes in flight now, and the most ever in flight at once. */
  readonly inflightProbes: number;
  readonly maxInflightProbes: number;
  /** Requests other than probes. */
  readonly userRequests: number;
  /** Answer probes with this status and body from now on (and release hung ones with it). */
  setHealth(status: number, body?: string): void;
  /** Hold every probe from now on without answering, until setHealth() is called. */
  hang(): void;
  /** Answer each probe only after this many ms of real time (a slow readiness endpoint); 0 = at once. */
  slow(ms: number): void;
  /** Resolves once `n` probes in total have arrived. */
  waitProbes(n: number): Promise<void>;
  close(): Promise<void>;
}

export async function startHealthBackend(opts: { path?: string; status?: number; body?: string } = {}): Promise<HealthBackend> {
  const path = opts.path ?? '/health';
  let status = opts.status ?? 200;
  let body = opts.body ?? '{"status":"ok"}';
  let hanging = false;
  let slowMs = 0;
  const held: ServerResponse[] = [];
  let probes = 0;
  let inflight = 0;
  let maxInflight = 0;
  let userRequests = 0;
  const waiters: Array<{ n: number; resolve: () => void }> = [];

  const answer = (res: ServerResponse): void => {
    if (res.destroyed) return;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(body);
  };
  const server = http.createServer((req, res) => {
    if (req.url !== path) {
      userRequests++;
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('served');
      return;
    }
    probes++;
    inflight++;
    maxInflight = Math.max(maxInflight, inflight);
    // Counted as finished when the exchange ends either way (answered, or the prober gave up).
    res.once('close', () => inflight--);
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (probes >= waiters[i]!.n) waiters.splice(i, 1)[0]!.resolve();
    }
    if (hanging) held.push(res);
    else if (slowMs > 0) setTimeout(() => answer(res), slowMs);
    else answer(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get probes() {
      return probes;
    },
    get inflightProbes() {
      return inflight;
    },
    get maxInflightProbes() {
      return maxInflight;
    },
    get userRequests() {
      return userRequests;
    },
    setHealth(s, b) {
      status = s;
      body = b ?? (s >= 200 && s < 300 ? '{"status":"ok"}' : '{"status":"unhealthy"}');
      hanging = false;
      for (const res of held.splice(0)) answer(res);
    },
    hang() {
      hanging = true;
    },
    slow(ms) {
      slowMs = ms;
    },
    waitProbes(n) {
      if (probes >= n) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ n, resolve }));
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

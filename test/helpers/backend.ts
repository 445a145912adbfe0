// A plain HTTP backend for tests: records every request it sees; behaviour set per test by a handler.
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
}

export interface TestBackend {
  url: string;
  port: number;
  server: http.Server;
  /** Requests other than health checks (GET /health). */
  requests: SeenRequest[];
  /** Replace the handler for user requests. */
  handle(handler: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void): void;
  /** Make /health answer this status (200 by default). */
  setHealth(status: number): void;
  close(): Promise<void>;
}

const defaultHandler = (req: IncomingMessage, res: ServerResponse): void => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ ok: true, path: req.url }));
};

export async function startBackend(handler?: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void): Promise<TestBackend> {
  let current = handler ?? defaultHandler;
  let health = 200;
  const requests: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    if (req.url === '/health') {
      res.writeHead(health, { 'content-type': 'application/json' });
      res.end(health === 200 ? '{"status":"ok"}' : '{"status":"unhealthy"}');
      return;
    }
    // Streaming handlers (large bodies) read the body themselves; others get it buffered.
    if ((current as { streaming?: boolean }).streaming) {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, body: Buffer.alloc(0) });
      current(req, res, Buffer.alloc(0));
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, body });
      current(req, res, body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    requests,
    handle(h) {
      current = h;
    },
    setHealth(status) {
      health = status;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Mark a handler as streaming: the helper does not buffer the request body for it. */
export function streaming<T extends (req: IncomingMessage, res: ServerResponse, body: Buffer) => void>(fn: T): T {
  (fn as { streaming?: boolean }).streaming = true;
  return fn;
}

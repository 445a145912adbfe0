// A backend that speaks what a test asks: HTTP/1.1 over TLS, h2c (HTTP/2 prior knowledge) or h2 over TLS, mTLS optional;
// it records what arrived (HTTP version, headers, body, client certificate) and answers 200 with a JSON echo.
import http2, { type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import https from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';

export interface SeenByBackend {
  httpVersion: string;
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** CN of the client certificate, when one was presented. */
  clientCN: string | null;
}

export interface ProtocolBackend {
  url: string;
  port: number;
  readonly seen: SeenByBackend[];
  close(): Promise<void>;
}

export interface ProtocolBackendOptions {
  kind: 'h1-tls' | 'h2c' | 'h2-tls';
  cert?: string;
  key?: string;
  /** Client certificates must chain to this CA (mutual TLS) when requireClientCert. */
  ca?: string;
  requireClientCert?: boolean;
  /** h2-tls only: also accept HTTP/1.1 (ALPN http/1.1). */
  allowHTTP1?: boolean;
}

export async function startProtocolBackend(opts: ProtocolBackendOptions): Promise<ProtocolBackend> {
  const seen: SeenByBackend[] = [];
  const handler = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const socket = req.socket as TLSSocket;
      const peer = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate() : null;
      const s: SeenByBackend = { httpVersion: req.httpVersion, method: req.method ?? '', path: req.url ?? '', headers: req.headers as IncomingHttpHeaders, body: Buffer.concat(chunks).toString(), clientCN: peer?.subject?.CN ? String(peer.subject.CN) : null };
      seen.push(s);
      const text = JSON.stringify({ httpVersion: s.httpVersion, path: s.path, body: s.body });
      (res as ServerResponse).writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
      res.end(text);
    });
  };
  const tls = { cert: opts.cert, key: opts.key, ca: opts.ca, requestCert: opts.requireClientCert === true, rejectUnauthorized: opts.requireClientCert === true };
  const server =
    opts.kind === 'h1-tls' ? https.createServer(tls, handler)
    : opts.kind === 'h2c' ? http2.createServer(handler)
    : http2.createSecureServer({ ...tls, allowHTTP1: opts.allowHTTP1 ?? false }, handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  const sessions = new Set<{ destroy(): void }>();
  server.on('session', (s: { destroy(): void }) => sessions.add(s));
  server.on('connection', (s: { destroy(): void }) => sessions.add(s));
  server.on('secureConnection', (s: { destroy(): void }) => sessions.add(s));
  return {
    url: `${opts.kind === 'h2c' ? 'http' : 'https'}://127.0.0.1:${port}`,
    port,
    seen,
    async close() {
      for (const s of sessions) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

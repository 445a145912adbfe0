// Raw-socket HTTP for tests: send exact bytes to a server and read every reply until it closes, and a fake backend that writes exact bytes.

import net from 'node:net';

export interface RawResponse {
  status: number;
  headers: Array<[string, string]>;
  body: string;
}

export interface RawReply {
  /** Everything the server sent, decoded as latin1. */
  text: string;
  /** Responses parsed out of `text` in order (a truncated last one is left out). */
  responses: RawResponse[];
  /** Status of the first response, or null when none arrived. */
  status: number | null;
  /** The server ended or closed the connection (unless `endAfterWrite`, we never half-close, so the close is the server's). */
  closedByServer: boolean;
  /** Our safety timer fired first (a failure path: the server neither answered nor closed). */
  timedOut: boolean;
}

export interface SendRawOptions {
  host?: string;
  /** Safety bound only; a passing test resolves on the server's close long before. */
  timeoutMs?: number;
  /** Half-close our side after writing, so a server that keeps the connection alive ends it too. */
  endAfterWrite?: boolean;
}

/** Writes `raw` in one write, then collects the reply until the server closes the connection. */
export function sendRaw(port: number, raw: string | Buffer, options: SendRawOptions = {}): Promise<RawReply> {
  const timeoutMs = options.timeoutMs ?? 5000;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let closedByServer = false;
    let timedOut = false;
    const socket = net.connect({ port, host: options.host ?? '127.0.0.1', allowHalfOpen: true });
    const timer = setTimeout(() => {
      timedOut = true;
      socket.destroy();
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => {
      closedByServer = true;
      socket.end();
    });
    // A reset after the server answered still counts as the server closing.
    socket.on('error', () => {
      if (!timedOut) closedByServer = true;
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const responses = parseResponses(text);
      resolve({ text, responses, status: responses[0]?.status ?? statusOf(text), closedByServer, timedOut });
    });
    socket.write(typeof raw === 'string' ? Buffer.from(raw, 'latin1') : raw);
    if (options.endAfterWrite === true) socket.end();
  });
}

function statusOf(text: string): number | null {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
  return m ? Number(m[1]) : null;
}

/** A small HTTP/1.1 response parser: Content-Length, chunked, or until close. */
export function parseResponses(text: string): RawResponse[] {
  const out: RawResponse[] = [];
  let at = 0;
  while (at < text.length) {
    const headEnd = text.indexOf('\r\n\r\n', at);
    if (headEnd < 0) break;
    const lines = text.slice(at, headEnd).split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
    if (!m) break;
    const status = Number(m[1]);
    const headers: Array<[string, string]> = lines.slice(1).map((line) => {
      const colon = line.indexOf(':');
      return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
    });
    const header = (name: string): string | undefined => headers.find(([n]) => n === name)?.[1];
    let pos = headEnd + 4;
    let body = '';
    if (status < 200 || status === 204 || status === 304) {
      // no body
    } else if (header('transfer-encoding')?.toLowerCase() === 'chunked') {
      for (;;) {
        const lineEnd = text.indexOf('\r\n', pos);
        if (lineEnd < 0) return out;
        const size = parseInt(text.slice(pos, lineEnd), 16);
        if (!Number.isFinite(size)) return out;
        pos = lineEnd + 2;
        if (size === 0) {
          const trailerEnd = text.indexOf('\r\n\r\n', pos - 2);
          if (trailerEnd < 0) return out;
          pos = trailerEnd + 4;
          break;
        }
        if (pos + size + 2 > text.length) return out;
        body += text.slice(pos, pos + size);
        pos += size + 2;
      }
    } else if (header('content-length') !== undefined) {
      const length = Number(header('content-length'));
      if (pos + length > text.length) return out;
      body = text.slice(pos, pos + length);
      pos += length;
    } else {
      body = text.slice(pos);
      pos = text.length;
    }
    out.push({ status, headers, body });
    at = pos;
  }
  return out;
}

export interface RawBackendRequest {
  /** The request line, e.g. `GET /bad/x HTTP/1.1`. */
  line: string;
  head: string;
  /** Which connection it came on (1, 2, ...). */
  connection: number;
}

export interface RawBackend {
  url: string;
  port: number;
  /** Requests received, probes included. */
  requests: RawBackendRequest[];
  /** Resolves once that connection is closed; with `keepOpen` replies only the peer can close it. */
  connectionClosed(connection: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * A fake backend on a raw `net` server: `reply(head)` returns the exact bytes to write for a request
 * (its head as text). The connection stays open after the reply only when `keepOpen` is true.
 */
export async function startRawBackend(
  reply: (head: string) => { bytes: string | Buffer; keepOpen?: boolean },
): Promise<RawBackend> {
  const requests: RawBackendRequest[] = [];
  const sockets = new Set<net.Socket>();
  const closed = new Map<number, Promise<void>>();
  let connections = 0;
  const server = net.createServer((socket) => {
    const connection = ++connections;
    sockets.add(socket);
    closed.set(connection, new Promise<void>((resolve) => socket.on('close', () => resolve())));
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffered = '';
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      for (;;) {
        const headEnd = buffered.indexOf('\r\n\r\n');
        if (headEnd < 0) return;
        const head = buffered.slice(0, headEnd);
        // Only body-less or Content-Length requests are expected here.
        const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
        if (buffered.length < headEnd + 4 + length) return;
        buffered = buffered.slice(headEnd + 4 + length);
        requests.push({ line: head.split('\r\n')[0] ?? '', head, connection });
        const answer = reply(head);
        socket.write(typeof answer.bytes === 'string' ? Buffer.from(answer.bytes, 'latin1') : answer.bytes);
        if (answer.keepOpen !== true) {
          socket.end();
          return;
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    port: address.port,
    requests,
    connectionClosed: (connection) => closed.get(connection) ?? Promise.reject(new Error(`no connection ${connection}`)),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The fake model server all scenarios run against: small JSON, /health, SSE events, large upload sink and download source. */
import http from 'node:http';

const SMALL_BODY = Buffer.from(JSON.stringify({ model: 'bench', version: '1', outputs: [0.12, 0.34, 0.56, 0.78], ok: true }));
const HEALTH_BODY = Buffer.from('{"status":"Healthy"}');
const CHUNK = Buffer.alloc(64 * 1024, 'x');

function queryNumber(url: URL, name: string, fallback: number): number {
  const value = Number(url.searchParams.get(name));
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

function sendJson(res: http.ServerResponse, status: number, body: Buffer): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
}

/** SSE: the first event at once, then one every `interval` ms, like an LLM emitting tokens. */
function streamEvents(req: http.IncomingMessage, res: http.ServerResponse, url: URL): void {
  const events = queryNumber(url, 'events', 20);
  const interval = queryNumber(url, 'interval', 50);
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  let sent = 0;
  const emit = (): void => {
    res.write(`data: {"token":${sent},"text":"tok${sent}"}\n\n`);
    sent += 1;
    if (sent >= events) {
      clearInterval(timer);
      res.end();
    }
  };
  const timer = setInterval(emit, interval);
  req.socket.once('close', () => clearInterval(timer));
  emit();
}

/** Counts and discards the request body, then reports its size. */
function sinkUpload(req: http.IncomingMessage, res: http.ServerResponse): void {
  let received = 0;
  req.on('data', (chunk: Buffer) => {
    received += chunk.length;
  });
  req.on('end', () => sendJson(res, 200, Buffer.from(JSON.stringify({ bytes: received }))));
}

/** Writes `bytes` bytes from one reused chunk, honouring backpressure, so the backend never holds the body. */
function sourceDownload(res: http.ServerResponse, url: URL): void {
  const total = queryNumber(url, 'bytes', CHUNK.length);
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total });
  let sent = 0;
  const pump = (): void => {
    while (sent < total) {
      const size = Math.min(CHUNK.length, total - sent);
      sent += size;
      if (!res.write(size === CHUNK.length ? CHUNK : CHUNK.subarray(0, size))) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  pump();
}

const server = http.createServer((req, res) => {
  const path = req.url ?? '/';
  if (path === '/health') return sendJson(res, 200, HEALTH_BODY);
  if (path.startsWith('/sse')) return streamEvents(req, res, new URL(path, 'http://x'));
  if (path.startsWith('/upload')) return sinkUpload(req, res);
  if (path.startsWith('/download')) return sourceDownload(res, new URL(path, 'http://x'));
  // Every other request is the small-response workload; drain any body first.
  req.resume();
  req.on('end', () => sendJson(res, 200, SMALL_BODY));
});
server.keepAliveTimeout = 65_000;
server.requestTimeout = 0; // a 1 GB upload may take longer than Node's default

server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  const address = server.address();
  if (address !== null && typeof address !== 'string') process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
});
// The bench holds our stdin open; when it goes away, so do we.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
process.on('SIGTERM', () => process.exit(0));

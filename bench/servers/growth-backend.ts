/**
 * The growth scenario's fake backends: one process listening on many loopback ports (one "backend" per port), so 300
 * backends cost 300 listening sockets, not 300 processes. Answers /health, a small JSON body for everything else, and
 * `GET /sse?interval=ms`: an endless event stream (the first event at once, then one every `interval` ms) whose events
 * carry the time they were written, so the client can measure how late the proxy delivers them.
 *
 * Usage: growth-backend.ts <port count>; prints {"port": first, "ports": [...]} once every port listens.
 */
import http from 'node:http';

const SMALL_BODY = Buffer.from(JSON.stringify({ model: 'bench', version: '1', outputs: [0.12, 0.34, 0.56, 0.78], ok: true }));
const HEALTH_BODY = Buffer.from('{"status":"Healthy"}');

function sendJson(res: http.ServerResponse, body: Buffer): void {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
}

/** Open streams, for the bench's log line at exit; each stream has its own timer, so events spread over the interval. */
let openStreams = 0;

function endlessEvents(req: http.IncomingMessage, res: http.ServerResponse, url: string): void {
  const q = url.indexOf('interval=');
  const interval = q === -1 ? 1000 : Math.max(10, Number.parseInt(url.slice(q + 'interval='.length), 10) || 1000);
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  openStreams++;
  let n = 0;
  // `t` is Date.now(): the realtime clock every process reads alike (performance.timeOrigin is fixed per process
  // and drifts from it by milliseconds), compared with the client's own Date.now().
  const emit = (): void => {
    res.write(`data: {"n":${n++},"t":${Date.now()}}\n\n`);
  };
  const timer = setInterval(emit, interval);
  req.socket.once('close', () => {
    clearInterval(timer);
    openStreams--;
  });
  emit();
}

function handle(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = req.url ?? '/';
  if (url === '/health') return sendJson(res, HEALTH_BODY);
  if (url.startsWith('/sse')) return endlessEvents(req, res, url);
  req.resume();
  req.on('end', () => sendJson(res, SMALL_BODY));
}

const count = Math.max(1, Number(process.argv[2] ?? 1));
const ports: number[] = [];
for (let i = 0; i < count; i++) {
  const server = http.createServer(handle);
  server.keepAliveTimeout = 65_000;
  server.requestTimeout = 0;
  server.headersTimeout = 0;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address !== null && typeof address !== 'string') ports.push(address.port);
}
process.stdout.write(`${JSON.stringify({ port: ports[0], ports })}\n`);

// The bench holds our stdin open; when it goes away, so do we.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
process.on('SIGTERM', () => {
  process.stderr.write(`growth-backend: ${openStreams} streams open at exit\n`);
  process.exit(0);
});

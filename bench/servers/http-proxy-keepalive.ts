/**
 * http-proxy as a competent user writes it: createProxyServer with a keep-alive http.Agent, so backend connections
 * are reused (its default, no agent, opens one backend connection per request: that is `http-proxy.ts`).
 */
import http from 'node:http';
import httpProxy from 'http-proxy';

const target = process.argv[2];
if (target === undefined) throw new Error('usage: http-proxy-keepalive.ts <backend-url> [port]');
// keepAlive reuses sockets; maxSockets stays unlimited (one per concurrent request), as http.globalAgent does.
const agent = new http.Agent({ keepAlive: true });
const proxy = httpProxy.createProxyServer({ target, agent });
proxy.on('error', (_error, _req, res) => {
  if (res instanceof http.ServerResponse && !res.headersSent) {
    res.writeHead(502, { 'content-type': 'text/plain' });
    res.end('bad gateway');
  } else res.destroy();
});

const server = http.createServer((req, res) => proxy.web(req, res));
server.keepAliveTimeout = 65_000;
server.listen(Number(process.argv[3] ?? 0), '127.0.0.1', () => {
  const address = server.address();
  if (address !== null && typeof address !== 'string') process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
process.on('SIGTERM', () => process.exit(0));

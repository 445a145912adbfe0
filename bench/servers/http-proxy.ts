/** A naive http-proxy server, written the way most tutorials write it: createProxyServer({ target }) and node:http. */
import http from 'node:http';
import httpProxy from 'http-proxy';

const target = process.argv[2];
if (target === undefined) throw new Error('usage: http-proxy.ts <backend-url> [port]');
const proxy = httpProxy.createProxyServer({ target });
proxy.on('error', (_error, _req, res) => {
  // `res` is a Socket for upgrades; here it is always a ServerResponse.
  if (res instanceof http.ServerResponse && !res.headersSent) {
    res.writeHead(502, { 'content-type': 'text/plain' });
    res.end('bad gateway');
  } else res.destroy();
});

const server = http.createServer((req, res) => proxy.web(req, res));
server.listen(Number(process.argv[3] ?? 0), '127.0.0.1', () => {
  const address = server.address();
  if (address !== null && typeof address !== 'string') process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
process.on('SIGTERM', () => process.exit(0));

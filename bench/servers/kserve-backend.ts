/** One fake KServe v2 model server per process, so that a "restart" is a real process kill and a new process on the same port. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

// Usage: node kserve-backend.ts <port|0> <model> <version> <md5> [loadMs] [latencyMs] [standby]
//
// Prints {"port": <port>} once listening. With `standby` it prints {"standby": true} and listens only when the
// line "listen" arrives on stdin: the bench spawns the replacement ahead of time, kills the old process, then
// lets the new one bind the same port within milliseconds (node's start-up time does not count against the gap).
//
// KServe v2 / Open Inference Protocol over REST, as the KServe Python server answers it
// (see src/health/presets/kserve-v2.ts and test/fakes/kserve.ts):
//   GET  /v2/health/live            200 {"live":true} as soon as the port is open
//   GET  /v2/health/ready           200 {"ready":true} once the model is loaded, 503 while loading
//   GET  /v2/models/<m>/ready       200 {"name","ready":true} loaded, 503 loading, 404 another model
//   GET  /v2/models/<m>             metadata {name, versions: [v], platform, inputs, outputs, parameters: {md5}}; 503 loading
//   POST /v2/models/<m>/infer       200 {model_name, model_version, id, parameters: {md5, port, pid}, outputs} after
//                                   the latency; 503 while loading
//   GET  /__bench/requests          what this process received from users (requests carrying x-bench-target):
//                                   [{target, at (epoch ms), status}], plus loadedAt; never sent by a proxy
// Loading (loadMs > 0): the port is open at once, the model is ready loadMs after listening.

const [portArg, model = 'bench-model', version = '2', md5 = '', loadArg, latencyArg, mode] = process.argv.slice(2);
const loadMs = Number(loadArg ?? 0);
const latencyMs = Number(latencyArg ?? 2);

interface Received {
  target: string;
  at: number;
  status: number;
}

const received: Received[] = [];
let loaded = false;
let loadedAt: number | null = null;
let listenedAt: number | null = null;

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const server = http.createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  const parts = path.split('/').filter((s) => s !== '');
  const target = req.headers['x-bench-target'];
  const user = typeof target === 'string';
  const answer = (status: number, body: unknown): void => {
    if (user) received.push({ target, at: Date.now(), status });
    send(res, status, body);
  };
  if (path === '/__bench/requests') return send(res, 200, { port: (server.address() as AddressInfo).port, version, md5, listenedAt, loadedAt, received });
  if (parts[0] !== 'v2') return answer(404, { detail: 'Not Found' });
  if (parts[1] === 'health' && parts.length === 3) {
    if (parts[2] === 'live') return answer(200, { live: true });
    if (parts[2] === 'ready') return loaded ? answer(200, { ready: true }) : answer(503, { error: 'Server is not ready.' });
  }
  if (parts[1] !== 'models' || parts[2] === undefined) return answer(404, { detail: 'Not Found' });
  const name = decodeURIComponent(parts[2]);
  const rest = parts.slice(3);
  if (req.method === 'POST' && rest.length === 1 && rest[0] === 'infer') {
    req.resume();
    req.once('end', () => {
      if (name !== model) return answer(404, { error: `Model with name ${name} does not exist.` });
      if (!loaded) return answer(503, { error: `Model with name ${name} is not ready.` });
      const body = {
        model_name: model,
        model_version: version,
        id: 'bench',
        parameters: { md5, port: (server.address() as AddressInfo).port, pid: process.pid },
        outputs: [{ name: 'output-0', shape: [1], datatype: 'INT32', data: [1] }],
      };
      if (latencyMs > 0) setTimeout(() => answer(200, body), latencyMs);
      else answer(200, body);
    });
    return;
  }
  req.resume();
  if (req.method !== 'GET') return answer(405, { detail: 'Method Not Allowed' });
  if (name !== model) return answer(404, { error: `Model with name ${name} does not exist.` });
  if (!loaded) return answer(503, { error: `Model with name ${name} is not ready.` });
  if (rest.length === 1 && rest[0] === 'ready') return answer(200, { name, ready: true });
  if (rest.length === 0) {
    return answer(200, {
      name: model,
      versions: [version],
      platform: 'bench',
      inputs: [{ name: 'input-0', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [{ name: 'output-0', datatype: 'INT32', shape: [-1] }],
      parameters: { md5 },
    });
  }
  answer(404, { detail: 'Not Found' });
});
// Longer than any proxy's idle upstream keep-alive, so sockets close only when this process dies.
server.keepAliveTimeout = 65_000;

function listen(): void {
  server.listen(Number(portArg ?? 0), '127.0.0.1', () => {
    listenedAt = Date.now();
    const markLoaded = (): void => {
      loaded = true;
      loadedAt = Date.now();
    };
    if (loadMs > 0) setTimeout(markLoaded, loadMs);
    else markLoaded();
    process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
  });
}

if (mode === 'standby') {
  let buffered = '';
  let asked = false;
  process.stdin.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    if (!asked && buffered.includes('listen\n')) {
      asked = true;
      listen();
    }
  });
  process.stdout.write(`${JSON.stringify({ standby: true })}\n`);
} else {
  listen();
}

// The bench holds our stdin open; when it goes away, so do we.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
// SIGTERM as uvicorn (KServe's server) handles it: stop accepting, close idle keep-alive connections, let in-flight
// requests finish, then exit. SIGKILL (the crash case) gives no such grace.
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
});

/** Several fake model servers in one process, each on its own port, whose models load, reload and restart on command from a control port. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

// Usage: node model-backend.ts <versions, comma separated, e.g. 2,2,2,1> [inference latency ms]
// Prints one line: {"port": <control port>, "backends": [<port>, ...]}.
//
// Each model server: GET /health (200 loaded, 503 loading), GET /v1/models ({"data":[{"id","version"}]}),
// anything else is inference: 503 while loading, else 200 {"version","port"} after the latency.
// Control (POST, query string): /load?i=&ms= (model loading for ms, port open; ms=-1: loading until told),
// /restart?i=&down=&load= (port closed for down ms, then loading for load ms; answers once loaded),
// /stats (per server: user requests, 503s answered, warm-ups).

const MODEL = 'bench-model';
const versions = (process.argv[2] ?? '2').split(',');
const latencyMs = Number(process.argv[3] ?? 2);

interface Stats {
  user: number;
  user503: number;
  warmup: number;
}

class ModelServer {
  readonly version: string;
  port = 0;
  loaded = true;
  stats: Stats = { user: 0, user503: 0, warmup: 0 };
  #server: http.Server;
  #timer: NodeJS.Timeout | null = null;

  constructor(version: string) {
    this.version = version;
    this.#server = this.#create();
  }

  #create(): http.Server {
    const server = http.createServer((req, res) => this.#handle(req, res));
    server.keepAliveTimeout = 65_000;
    return server;
  }

  listen(port: number): Promise<void> {
    const server = this.#server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        this.port = (server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  /** Loading for `ms` with the port open (ms < 0: until the next load command); resolves once loaded. */
  load(ms: number): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (ms === 0) {
      this.loaded = true;
      return Promise.resolve();
    }
    this.loaded = false;
    if (ms < 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.#timer = setTimeout(() => {
        this.loaded = true;
        this.#timer = null;
        resolve();
      }, ms);
    });
  }

  /** A process restart: stop accepting (in-flight requests finish, idle sockets close), down for `downMs`, then load. */
  async restart(downMs: number, loadMs: number): Promise<void> {
    this.loaded = false;
    const old = this.#server;
    const closed = new Promise<void>((r) => old.close(() => r()));
    old.closeIdleConnections();
    await closed;
    await new Promise((r) => setTimeout(r, downMs));
    this.#server = this.#create();
    await this.listen(this.port);
    await this.load(loadMs);
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/health') return send(res, this.loaded ? 200 : 503, { status: this.loaded ? 'ok' : 'loading' });
    if (path === '/v1/models') return send(res, 200, { object: 'list', data: [{ id: MODEL, object: 'model', version: this.version }] });
    const warmup = req.headers['x-infergate-warmup'] !== undefined;
    if (warmup) this.stats.warmup += 1;
    else this.stats.user += 1;
    req.resume();
    req.once('end', () => {
      if (!this.loaded) {
        if (!warmup) this.stats.user503 += 1;
        send(res, 503, { error: 'model is loading' });
        return;
      }
      const body = { model: MODEL, version: this.version, port: this.port };
      if (latencyMs > 0) setTimeout(() => send(res, 200, body), latencyMs);
      else send(res, 200, body);
    });
  }
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const servers = versions.map((v) => new ModelServer(v));
for (const s of servers) await s.listen(0);

const control = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  const num = (name: string, fallback: number): number => {
    const raw = url.searchParams.get(name);
    return raw === null || raw === '' ? fallback : Number(raw);
  };
  const server = servers[num('i', 0)];
  req.resume();
  if (url.pathname === '/stats') return send(res, 200, servers.map((s) => ({ port: s.port, version: s.version, loaded: s.loaded, ...s.stats })));
  if (url.pathname === '/reset-stats') {
    for (const s of servers) s.stats = { user: 0, user503: 0, warmup: 0 };
    return send(res, 200, { ok: true });
  }
  if (server === undefined) return send(res, 404, { error: 'no such server' });
  if (url.pathname === '/load') {
    void server.load(num('ms', 0));
    return send(res, 200, { ok: true });
  }
  if (url.pathname === '/restart') {
    server.restart(num('down', 1000), num('load', 2000)).then(
      () => send(res, 200, { ok: true }),
      (error: unknown) => send(res, 500, { error: String(error) }),
    );
    return;
  }
  send(res, 404, { error: 'unknown command' });
});
control.listen(0, '127.0.0.1', () => {
  const port = (control.address() as AddressInfo).port;
  process.stdout.write(`${JSON.stringify({ port, backends: servers.map((s) => s.port) })}\n`);
});

// The bench holds our stdin open; when it goes away, so do we.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
process.on('SIGTERM', () => process.exit(0));

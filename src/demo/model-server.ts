// A fake model server for the demo and the tests: loads slowly, reports a version, fails or streams on demand.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ModelServerOptions {
  host?: string;
  port?: number;
  model?: string;
  version?: string;
  /** The port is open at once; /health answers 503 until this many ms have passed. */
  loadDelayMs?: number;
  /** Share of inference requests answered 500 (0..1). */
  failRate?: number;
  /** Added latency for inference requests. */
  latencyMs?: number;
  random?: () => number;
}

export class ModelServer {
  readonly options: Required<Omit<ModelServerOptions, 'port' | 'host'>> & { host: string; port: number };
  readonly server: http.Server;
  /** Inference requests received (health checks not counted). */
  requests = 0;
  healthChecks = 0;
  loaded = false;
  #loadTimer: NodeJS.Timeout | null = null;

  constructor(opts: ModelServerOptions = {}) {
    this.options = {
      host: opts.host ?? '127.0.0.1',
      port: opts.port ?? 0,
      model: opts.model ?? 'demo-model',
      version: opts.version ?? '1',
      loadDelayMs: opts.loadDelayMs ?? 0,
      failRate: opts.failRate ?? 0,
      latencyMs: opts.latencyMs ?? 0,
      random: opts.random ?? Math.random,
    };
    this.server = http.createServer((req, res) => this.#handle(req, res));
    this.server.keepAliveTimeout = 10_000;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://${this.options.host}:${this.port}`;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => resolve());
    });
    this.reload(this.options.loadDelayMs);
    return this;
  }

  /** Simulate a model (re)load: unhealthy for `ms`, then healthy. */
  reload(ms: number): void {
    if (this.#loadTimer) clearTimeout(this.#loadTimer);
    this.loaded = ms <= 0;
    if (ms > 0) this.#loadTimer = setTimeout(() => { this.loaded = true; }, ms);
  }

  setFailRate(rate: number): void {
    this.options.failRate = rate;
  }

  async close(): Promise<void> {
    if (this.#loadTimer) clearTimeout(this.#loadTimer);
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/health') {
      this.healthChecks++;
      json(res, this.loaded ? 200 : 503, { status: this.loaded ? 'ok' : 'loading', model: this.options.model, version: this.options.version });
      return;
    }
    if (url.pathname === '/v1/models') {
      json(res, 200, { object: 'list', data: [{ id: this.options.model, object: 'model', version: this.options.version }] });
      return;
    }
    this.requests++;
    if (!this.loaded) {
      // What a real server does while its model loads: the port answers, the model cannot.
      json(res, 503, { error: 'model is still loading' });
      return;
    }
    req.resume();
    req.once('end', () => {
      const respond = (): void => {
        if (this.options.failRate > 0 && this.options.random() < this.options.failRate) {
          json(res, 500, { error: 'inference failed' });
          return;
        }
        if (url.pathname === '/v1/stream') {
          this.#stream(res, Number(url.searchParams.get('n') ?? 10), Number(url.searchParams.get('interval') ?? 100));
          return;
        }
        json(res, 200, { model: this.options.model, version: this.options.version, server: this.port, prediction: Math.round(this.options.random() * 1000) / 1000 });
      };
      if (this.options.latencyMs > 0) setTimeout(respond, this.options.latencyMs);
      else respond();
    });
  }

  /** Server-sent events, one token per interval, as an LLM server streams a generation. */
  #stream(res: ServerResponse, n: number, intervalMs: number): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    let i = 0;
    const tick = (): void => {
      if (res.destroyed) return;
      if (i >= n) {
        res.end('data: [DONE]\n\n');
        return;
      }
      res.write(`data: {"token":${i},"server":${this.port}}\n\n`);
      i++;
      setTimeout(tick, intervalMs);
    };
    tick();
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

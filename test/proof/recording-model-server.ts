// A fake model server for the proof tests: records every request it receives, and reloads its model or restarts (port closed) on demand.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type RequestKind = 'health' | 'metadata' | 'warmup' | 'user';

export interface Seen {
  /** Date.now() when the request arrived (same clock as pino's `time`). */
  at: number;
  kind: RequestKind;
  status: number;
}

export interface RecordingOptions {
  model?: string;
  version?: string;
  /** The port is open at once; the model answers 503 (health and inference) until this many ms have passed. */
  loadDelayMs?: number;
}

/**
 * Endpoints: `GET /health` (200 loaded, 503 loading), `GET /meta` (`{ model: { name, version } }`, read by
 * admission through `metadataPath` and pointers), anything else is inference: 503 while loading, else 200
 * `{ version, port }`. Requests carrying `x-infergate-warmup` are recorded as warm-up, not user traffic.
 */
export class RecordingModelServer {
  readonly model: string;
  readonly version: string;
  readonly seen: Seen[] = [];
  /** Called for every user (non-warm-up) inference request as it arrives, before it is answered. */
  onUserRequest: (() => void) | null = null;
  #server: http.Server;
  #port = 0;
  #loaded = false;
  #loadTimer: NodeJS.Timeout | null = null;
  #downTimer: NodeJS.Timeout | null = null;
  #onLoaded: Array<() => void> = [];
  readonly #loadDelayMs: number;

  constructor(opts: RecordingOptions = {}) {
    this.model = opts.model ?? 'm';
    this.version = opts.version ?? '2';
    this.#loadDelayMs = opts.loadDelayMs ?? 0;
    this.#server = this.#createServer();
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  get loaded(): boolean {
    return this.#loaded;
  }

  /** User inference requests received. */
  userRequests(): Seen[] {
    return this.seen.filter((s) => s.kind === 'user');
  }

  warmups(): Seen[] {
    return this.seen.filter((s) => s.kind === 'warmup');
  }

  async start(): Promise<this> {
    await this.#listen(0);
    this.reload(this.#loadDelayMs);
    return this;
  }

  /** Model (re)load with the port open: health and inference answer 503 for `ms`; resolves once loaded. */
  reload(ms: number): Promise<void> {
    if (this.#loadTimer) clearTimeout(this.#loadTimer);
    this.#loadTimer = null;
    const loaded = new Promise<void>((resolve) => this.#onLoaded.push(resolve));
    if (ms <= 0) this.#markLoaded();
    else {
      this.#loaded = false;
      this.#loadTimer = setTimeout(() => this.#markLoaded(), ms);
    }
    return loaded;
  }

  /**
   * A process restart: stop listening (in-flight requests finish, idle keep-alive sockets close), refuse
   * connections for `downMs`, listen again on the same port with the model loading for `loadMs`.
   * Resolves once the model has loaded again.
   */
  async restart(downMs: number, loadMs: number): Promise<void> {
    if (this.#loadTimer) clearTimeout(this.#loadTimer);
    this.#loaded = false;
    const old = this.#server;
    const closed = new Promise<void>((r) => old.close(() => r()));
    old.closeIdleConnections();
    await closed;
    await new Promise<void>((r) => (this.#downTimer = setTimeout(r, downMs)));
    this.#downTimer = null;
    this.#server = this.#createServer();
    await this.#listen(this.#port);
    await this.reload(loadMs);
  }

  async close(): Promise<void> {
    if (this.#loadTimer) clearTimeout(this.#loadTimer);
    if (this.#downTimer) clearTimeout(this.#downTimer);
    const s = this.#server;
    s.closeAllConnections();
    if (s.listening) await new Promise<void>((r) => s.close(() => r()));
  }

  #markLoaded(): void {
    this.#loaded = true;
    this.#loadTimer = null;
    const waiters = this.#onLoaded;
    this.#onLoaded = [];
    for (const w of waiters) w();
  }

  #createServer(): http.Server {
    const server = http.createServer((req, res) => this.#handle(req, res));
    server.keepAliveTimeout = 10_000;
    return server;
  }

  #listen(port: number): Promise<void> {
    const server = this.#server;
    return new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        this.#port = (server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    const at = Date.now();
    if (path === '/health') {
      const status = this.#loaded ? 200 : 503;
      this.seen.push({ at, kind: 'health', status });
      send(res, status, { status: this.#loaded ? 'ok' : 'loading' });
      return;
    }
    if (path === '/meta') {
      this.seen.push({ at, kind: 'metadata', status: 200 });
      send(res, 200, { model: { name: this.model, version: this.version } });
      return;
    }
    const kind: RequestKind = req.headers['x-infergate-warmup'] !== undefined ? 'warmup' : 'user';
    const status = this.#loaded ? 200 : 503;
    this.seen.push({ at, kind, status });
    if (kind === 'user') this.onUserRequest?.();
    req.resume();
    req.once('end', () => send(res, status, status === 200 ? { version: this.version, port: this.#port } : { error: 'model is loading' }));
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

// What every fake model server shares: real node:http listeners on loopback, a model that loads, counters, controls.
import { EventEmitter } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { systemClock, type Clock, type Timer } from '../../src/clock.js';

export interface FakeServerOptions {
  /** Model name the server serves. */
  model?: string;
  version?: string;
  /** Checksum the server reports where the real one can (TorchServe customized metadata, KServe parameters). */
  md5?: string;
  /** The port is open (or, for vLLM/TGI, bound) at once; the model is ready only after this many ms. */
  loadDelayMs?: number;
  /** Share of inference requests that fail the way the real server fails (0..1). */
  failRate?: number;
  /** Added before every inference answer. */
  latencyMs?: number;
  /** Gap between streamed tokens. */
  tokenIntervalMs?: number;
  random?: () => number;
  /** Timers for loading, latency and streaming; a ManualClock makes them test-driven. */
  clock?: Clock;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void;

export abstract class FakeModelServer {
  model: string;
  version: string;
  md5: string | null;
  failRate: number;
  latencyMs: number;
  tokenIntervalMs: number;
  /** True once the model has loaded (and until the next reload()). */
  loaded = false;
  /** Inference requests received, whatever their outcome; health and metadata requests are not counted. */
  inferenceRequests = 0;
  /** Health and metadata requests received. */
  probeRequests = 0;
  /** Streams the client closed before the last token. */
  streamsAborted = 0;
  /** 'loaded', 'inference' and 'stream-aborted', so tests wait on events rather than time. */
  readonly events = new EventEmitter();

  protected readonly random: () => number;
  protected readonly clock: Clock;
  /**
   * vLLM and TGI do not accept connections until the model is loaded (their HTTP server starts afterwards).
   * A fake cannot hold a port without listening, so it resets every connection instead: the client sees a
   * connection error, never an HTTP answer, as with the real servers.
   */
  protected refuseWhileLoading = false;

  readonly #servers: http.Server[] = [];
  readonly #initialLoadMs: number;
  #loadTimer: Timer | null = null;
  #waiters: Array<() => void> = [];

  constructor(opts: FakeServerOptions, defaultModel: string) {
    this.model = opts.model ?? defaultModel;
    this.version = opts.version ?? '1';
    this.md5 = opts.md5 ?? null;
    this.failRate = opts.failRate ?? 0;
    this.latencyMs = opts.latencyMs ?? 0;
    this.tokenIntervalMs = opts.tokenIntervalMs ?? 0;
    this.random = opts.random ?? Math.random;
    this.clock = opts.clock ?? systemClock;
    this.#initialLoadMs = opts.loadDelayMs ?? 0;
  }

  /** Add a listener; the first one added is the main (inference) port. */
  protected listener(handler: Handler): http.Server {
    const server = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://fake');
      handler(req, res, url);
    });
    server.keepAliveTimeout = 5_000;
    server.on('connection', (socket: Socket) => {
      if (this.refuseWhileLoading && !this.loaded) socket.destroy();
    });
    this.#servers.push(server);
    return server;
  }

  protected portOf(index: number): number {
    const server = this.#servers[index];
    if (!server) throw new Error(`no listener ${index}`);
    return (server.address() as AddressInfo).port;
  }

  get port(): number {
    return this.portOf(0);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    for (const server of this.#servers) {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
    }
    this.reload(this.#initialLoadMs);
    return this;
  }

  /** The model (re)loads for `ms`: every readiness signal of the real server says "not ready" meanwhile. */
  reload(ms: number): void {
    this.#loadTimer?.cancel();
    this.#loadTimer = null;
    if (ms <= 0) {
      this.finishLoading();
      return;
    }
    this.loaded = false;
    // A restarting vLLM/TGI drops its connections; the others keep theirs and answer "not ready".
    if (this.refuseWhileLoading) for (const s of this.#servers) s.closeAllConnections();
    this.#loadTimer = this.clock.setTimer(ms, () => this.finishLoading());
  }

  /** Finish loading now (a test's way to end the load without waiting for loadDelayMs). */
  finishLoading(): void {
    this.#loadTimer?.cancel();
    this.#loadTimer = null;
    this.loaded = true;
    this.events.emit('loaded');
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  /** Resolves when the model has loaded. */
  whenLoaded(): Promise<void> {
    if (this.loaded) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  setFailRate(rate: number): void {
    this.failRate = rate;
  }

  async close(): Promise<void> {
    this.#loadTimer?.cancel();
    await Promise.all(
      this.#servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            if (!s.listening) return resolve();
            s.closeAllConnections();
            s.close(() => resolve());
          }),
      ),
    );
  }

  /** Count one inference request and decide, by failRate, whether it fails. */
  protected inference(): { fail: boolean } {
    this.inferenceRequests++;
    this.events.emit('inference');
    return { fail: this.failRate > 0 && this.random() < this.failRate };
  }

  /** Read the request body, then answer after the configured latency. */
  protected afterBody(req: IncomingMessage, fn: (body: Buffer) => void): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.once('end', () => {
      const body = Buffer.concat(chunks);
      if (this.latencyMs > 0) this.clock.setTimer(this.latencyMs, () => fn(body));
      else fn(body);
    });
  }

  /**
   * Server-sent events: `count` events one `tokenIntervalMs` apart, then `last` (if any). Stops, and counts an
   * abort, when the client goes away — so tests can see that generation stops after the client left.
   */
  protected stream(res: ServerResponse, count: number, event: (i: number) => string, last: string | null): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    let i = 0;
    let finished = false;
    res.once('close', () => {
      if (finished) return;
      this.streamsAborted++;
      this.events.emit('stream-aborted');
    });
    const tick = (): void => {
      if (res.destroyed) return;
      if (i >= count) {
        finished = true;
        res.end(last ?? undefined);
        return;
      }
      res.write(event(i));
      i++;
      if (this.tokenIntervalMs > 0) this.clock.setTimer(this.tokenIntervalMs, tick);
      else setImmediate(tick);
    };
    tick();
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** A status with an empty body, as Triton's and vLLM's health endpoints answer. */
export function sendEmpty(res: ServerResponse, status: number): void {
  res.writeHead(status, { 'content-length': 0 });
  res.end();
}

/** Parse a JSON request body; null when it is not JSON. */
export function parseJson(body: Buffer): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(body.toString('utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Path segments after the leading "/", decoded. */
export function segments(url: URL): string[] {
  return url.pathname.split('/').slice(1).map((s) => decodeURIComponent(s));
}

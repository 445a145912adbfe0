// A KServe v2 model server process that can be replaced in place: same port, another model, a corrupt copy, a
// loading copy, or a crash — what model servers do every day. Inference answers name the model that served them.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ModelIdentity {
  readonly name: string;
  readonly version: string;
  readonly md5: string;
}

export class KServeReplica {
  port = 0;
  #server: http.Server | null = null;
  #model: ModelIdentity;
  #loaded = true;
  #loadTimer: NodeJS.Timeout | null = null;
  /** User inference requests answered 200 by this replica, across its processes. */
  served = 0;

  constructor(model: ModelIdentity) {
    this.#model = model;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Start a process serving `model` on this replica's port (a fresh one the first time); loading for `loadMs`. */
  async start(model: ModelIdentity = this.#model, loadMs = 0): Promise<void> {
    this.#model = model;
    this.#loaded = loadMs <= 0;
    if (loadMs > 0) this.#loadTimer = setTimeout(() => (this.#loaded = true), loadMs);
    const server = http.createServer((req, res) => this.#handle(req, res));
    server.keepAliveTimeout = 5000; // uvicorn's default
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  /** SIGTERM as uvicorn handles it: stop accepting, close idle keep-alive connections, let in-flight requests finish. */
  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    if (this.#loadTimer !== null) clearTimeout(this.#loadTimer);
    if (server === null) return;
    await new Promise<void>((r) => {
      server.close(() => r());
      server.closeIdleConnections();
    });
  }

  /** SIGKILL: every connection dropped at once, in-flight requests included. */
  async crash(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    if (this.#loadTimer !== null) clearTimeout(this.#loadTimer);
    if (server === null) return;
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }

  /** Stop, and `downMs` later start another process on the same port. */
  async replace(model: ModelIdentity, downMs: number, loadMs = 0): Promise<void> {
    await this.stop();
    await new Promise((r) => setTimeout(r, downMs));
    await this.start(model, loadMs);
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    const m = this.#model;
    const base = `/v2/models/${m.name}`;
    if (url === '/v2/health/live') return send(res, 200, { live: true });
    if (url === '/v2/health/ready') return this.#loaded ? send(res, 200, { ready: true }) : send(res, 503, { error: 'Server is not ready.' });
    if (!url.startsWith(`${base}`)) return send(res, 404, { error: 'Model does not exist.' });
    if (!this.#loaded) {
      req.resume();
      return send(res, 503, { error: `Model with name ${m.name} is not ready.` });
    }
    if (url === `${base}/ready`) return send(res, 200, { name: m.name, ready: true });
    if (url === base) return send(res, 200, { name: m.name, versions: [m.version], platform: '', parameters: { md5: m.md5 } });
    if (url === `${base}/infer` && req.method === 'POST') {
      req.resume();
      req.once('end', () => {
        if (req.headers['x-infergate-warmup'] === undefined) this.served++;
        send(res, 200, { model_name: m.name, model_version: m.version, parameters: { md5: m.md5 }, outputs: [{ name: 'output-0', shape: [1], datatype: 'INT32', data: [1] }] });
      });
      return;
    }
    send(res, 404, { error: 'Not Found' });
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export interface InferenceOutcome {
  sentAt: number;
  status: number;
  error: string | null;
  version: string | null;
  md5: string | null;
}

/** Open-loop inference traffic: one POST every `intervalMs` (40/s at 25 ms) until stopped, every answer kept. */
export class InferenceClient {
  readonly outcomes: InferenceOutcome[] = [];
  readonly #agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  readonly #pending = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | null = null;

  constructor(readonly url: string, readonly intervalMs = 25, readonly maxRequests = 4000) {}

  start(): void {
    this.#timer = setInterval(() => {
      if (this.outcomes.length + this.#pending.size >= this.maxRequests) return;
      const p = this.#one().finally(() => this.#pending.delete(p));
      this.#pending.add(p);
    }, this.intervalMs);
  }

  async stop(): Promise<InferenceOutcome[]> {
    if (this.#timer !== null) clearInterval(this.#timer);
    await Promise.all(this.#pending);
    this.#agent.destroy();
    return this.outcomes.sort((a, b) => a.sentAt - b.sentAt);
  }

  #one(): Promise<void> {
    const sentAt = Date.now();
    const body = '{"inputs":[{"name":"input-0","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]}]}';
    return new Promise((resolve) => {
      const req = http.request(this.url, { method: 'POST', agent: this.#agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, timeout: 15_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let version: string | null = null;
          let md5: string | null = null;
          try {
            const doc = JSON.parse(Buffer.concat(chunks).toString()) as { model_version?: string; parameters?: { md5?: string } };
            version = doc.model_version ?? null;
            md5 = doc.parameters?.md5 ?? null;
          } catch {
            // not JSON: counted by status
          }
          this.outcomes.push({ sentAt, status: res.statusCode ?? 0, error: null, version, md5 });
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(new Error('client timeout')));
      req.on('error', (err) => {
        this.outcomes.push({ sentAt, status: 0, error: err.message, version: null, md5: null });
        resolve();
      });
      req.end(body);
    });
  }
}

/** What a new user writes from the README: the preset and the model, nothing tuned. */
export function readmeConfig(model: ModelIdentity, replicas: readonly KServeReplica[]): string {
  return `
log: { level: info }
pools:
  ${model.name}:
    health:
      preset: kserve-v2
      model: { name: ${model.name}, version: "${model.version}", md5: ${model.md5} }
    backends: [${replicas.map((r) => r.url).join(', ')}]
`;
}

/** The answers that did not come from the configured model: another version or another checksum. */
export function wrongModel(outcomes: readonly InferenceOutcome[], model: ModelIdentity): InferenceOutcome[] {
  return outcomes.filter((o) => o.status === 200 && (o.version !== model.version || o.md5 !== model.md5));
}

export function failed(outcomes: readonly InferenceOutcome[]): InferenceOutcome[] {
  return outcomes.filter((o) => o.status !== 200);
}

// Open-loop client traffic for the proof tests: one inference request every interval until stopped, every outcome recorded.
import http from 'node:http';

export interface Outcome {
  /** Date.now() when the request was sent. */
  sentAt: number;
  /** 0 when no response arrived (connection error, timeout). */
  status: number;
  error: string | null;
  /** `version` and `port` from a 2xx body of the recording model server. */
  version: string | null;
  port: number | null;
  ms: number;
}

export interface SteadyOptions {
  intervalMs: number;
  /** Hard bound on requests sent, whatever happens to stop(). */
  maxRequests: number;
  path?: string;
  /** Per-request timeout; above infergate's default queue timeout (10 s) so a queued request is never cut short here. */
  timeoutMs?: number;
}

export class SteadyClient {
  readonly outcomes: Outcome[] = [];
  readonly #url: string;
  readonly #opts: Required<SteadyOptions>;
  readonly #agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  readonly #pending = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | null = null;
  #sent = 0;
  #allSent!: () => void;
  /** Resolves once `maxRequests` requests have been sent (the run's natural end). */
  readonly allSent = new Promise<void>((r) => (this.#allSent = r));

  constructor(baseUrl: string, opts: SteadyOptions) {
    this.#url = baseUrl;
    this.#opts = { path: '/v1/infer', timeoutMs: 12_000, ...opts };
  }

  start(): void {
    this.#send();
    this.#timer = setInterval(() => this.#send(), this.#opts.intervalMs);
  }

  /** Stop sending; resolves with every outcome once the requests in flight have finished. */
  async stop(): Promise<Outcome[]> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#allSent();
    await Promise.all([...this.#pending]);
    this.#agent.destroy();
    return this.outcomes;
  }

  /** Outcomes that a client would call an error: anything but 2xx, or no response at all. */
  errors(): Outcome[] {
    return this.outcomes.filter((o) => o.status < 200 || o.status >= 300);
  }

  #send(): void {
    if (this.#sent >= this.#opts.maxRequests) return;
    this.#sent++;
    if (this.#sent === this.#opts.maxRequests) {
      if (this.#timer) clearInterval(this.#timer);
      this.#timer = null;
      this.#allSent();
    }
    const p = this.#one().then((o) => {
      this.outcomes.push(o);
    });
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p));
  }

  #one(): Promise<Outcome> {
    const sentAt = Date.now();
    const started = performance.now();
    return new Promise<Outcome>((resolve) => {
      let settled = false;
      const done = (status: number, error: string | null, body: string): void => {
        if (settled) return;
        settled = true;
        let version: string | null = null;
        let port: number | null = null;
        if (status >= 200 && status < 300) {
          try {
            const parsed = JSON.parse(body) as { version?: string; port?: number };
            version = parsed.version ?? null;
            port = parsed.port ?? null;
          } catch {
            error = `unparsable body: ${body.slice(0, 80)}`;
          }
        } else if (error === null) error = body.slice(0, 200);
        resolve({ sentAt, status, error, version, port, ms: performance.now() - started });
      };
      const body = '{"inputs":[1,2,3]}';
      const req = http.request(
        `${this.#url}${this.#opts.path}`,
        { method: 'POST', agent: this.#agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => done(res.statusCode ?? 0, null, text));
          res.on('error', (e) => done(0, e.message, ''));
        },
      );
      req.setTimeout(this.#opts.timeoutMs, () => req.destroy(new Error(`client timeout after ${this.#opts.timeoutMs} ms`)));
      req.on('error', (e) => done(0, e.message, ''));
      req.end(body);
    });
  }
}

/** Compact description of errors for an assertion message. */
export function describeErrors(errors: readonly Outcome[]): string {
  const byKind = new Map<string, number>();
  for (const e of errors) {
    const key = `${e.status} ${e.error ?? ''}`.slice(0, 160);
    byKind.set(key, (byKind.get(key) ?? 0) + 1);
  }
  return [...byKind].map(([k, n]) => `${n} x ${k}`).join('\n');
}

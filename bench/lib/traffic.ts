/** Open-loop steady traffic (one POST every interval, whatever the answers) and the client-visible summary of it. */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { percentile, round } from './report.ts';

export interface Shot {
  /** ms since the run's t0 when the request was sent. */
  sentMs: number;
  /** ms since t0 when the answer (or the error) arrived. */
  doneMs: number;
  /** 0: no HTTP answer (connection error, timeout). */
  status: number;
  /** The model version in a 2xx body (or what `TrafficOptions.identify` reads from it), null otherwise. */
  version: string | null;
  error: string | null;
}

export interface TrafficOptions {
  intervalMs: number;
  path: string;
  timeoutMs: number;
  /** Request body (JSON); default a small `{"inputs":[...]}`. */
  body?: string;
  /** Extra request headers, e.g. a tag the backends count by. */
  headers?: Record<string, string>;
  /** What identifies the model in a 2xx JSON body; default its `version` field. */
  identify?: (body: unknown) => string;
}

const DEFAULT_BODY = '{"inputs":[0.1,0.2,0.3]}';
const byVersion = (body: unknown): string => String((body as { version?: unknown }).version ?? '');

/** One request every `intervalMs` to one target until stop(); every outcome kept. */
export class SteadyTraffic {
  readonly shots: Shot[] = [];
  readonly #url: string;
  readonly #opts: TrafficOptions;
  readonly #t0: number;
  readonly #agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  readonly #pending = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | null = null;

  constructor(baseUrl: string, t0: number, opts: TrafficOptions) {
    this.#url = baseUrl + opts.path;
    this.#t0 = t0;
    this.#opts = opts;
  }

  start(): void {
    this.#fire();
    this.#timer = setInterval(() => this.#fire(), this.#opts.intervalMs);
  }

  /** Stop sending; resolves once every request in flight has an outcome (bounded by the request timeout). */
  async stop(): Promise<Shot[]> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await Promise.all([...this.#pending]);
    this.#agent.destroy();
    return this.shots.sort((a, b) => a.sentMs - b.sentMs);
  }

  #fire(): void {
    const p = this.#one().then((shot) => {
      this.shots.push(shot);
    });
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p));
  }

  #one(): Promise<Shot> {
    const sentMs = performance.now() - this.#t0;
    return new Promise((resolve) => {
      let settled = false;
      const done = (status: number, text: string, error: string | null): void => {
        if (settled) return;
        settled = true;
        let version: string | null = null;
        if (status >= 200 && status < 300) {
          try {
            version = (this.#opts.identify ?? byVersion)(JSON.parse(text));
          } catch {
            error = 'unparsable 2xx body';
          }
        }
        resolve({ sentMs, doneMs: performance.now() - this.#t0, status, version, error });
      };
      const body = this.#opts.body ?? DEFAULT_BODY;
      const headers = { ...this.#opts.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
      const req = http.request(
        this.#url,
        { method: 'POST', agent: this.#agent, headers },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => done(res.statusCode ?? 0, text, null));
          res.on('error', (e) => done(0, '', e.message));
        },
      );
      req.setTimeout(this.#opts.timeoutMs, () => req.destroy(new Error('client timeout')));
      req.on('error', (e) => done(0, '', (e as NodeJS.ErrnoException).code ?? e.message));
      req.end(body);
    });
  }
}

export interface TrafficSummary {
  sent: number;
  ok: number;
  /** Client-visible errors: non-2xx answers + no answer + 2xx from the wrong model version. */
  errors: number;
  errorPercent: number;
  non2xx: number;
  connectionErrors: number;
  wrongVersion: number;
  /** Status codes of the non-2xx answers, e.g. { "503": 12 }. */
  statuses: Record<string, number>;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** ms from t0 until the first correct answer arrived; null when none did. */
  firstSuccessMs: number | null;
}

/** Latency percentiles are over correct answers only (an error's latency says nothing about serving). */
export function summarise(shots: readonly Shot[], expectedVersion: string): TrafficSummary {
  const ok = shots.filter((s) => s.status >= 200 && s.status < 300 && s.version === expectedVersion);
  const wrongVersion = shots.filter((s) => s.status >= 200 && s.status < 300 && s.version !== expectedVersion).length;
  const connectionErrors = shots.filter((s) => s.status === 0).length;
  const non2xx = shots.filter((s) => s.status !== 0 && (s.status < 200 || s.status >= 300));
  const statuses: Record<string, number> = {};
  for (const s of non2xx) statuses[String(s.status)] = (statuses[String(s.status)] ?? 0) + 1;
  const latencies = ok.map((s) => s.doneMs - s.sentMs);
  const errors = shots.length - ok.length;
  return {
    sent: shots.length,
    ok: ok.length,
    errors,
    errorPercent: shots.length === 0 ? 0 : round((100 * errors) / shots.length, 2),
    non2xx: non2xx.length,
    connectionErrors,
    wrongVersion,
    statuses,
    p50Ms: round(percentile(latencies, 50), 1),
    p99Ms: round(percentile(latencies, 99), 1),
    maxMs: round(latencies.length === 0 ? Number.NaN : Math.max(...latencies), 1),
    firstSuccessMs: ok.length === 0 ? null : round(Math.min(...ok.map((s) => s.doneMs)), 0),
  };
}

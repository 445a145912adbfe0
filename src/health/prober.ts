// One HTTP probe (runProbe), and the loop that repeats one probe role: first at once, then jittered, never overlapping.
import { request, type Dispatcher } from 'undici';
import type { Clock, Timer } from '../clock.js';
import { checkResponse } from './body-check.js';
import { requestUrl } from './presets/index.js';
import type { ResolvedProbe } from './resolve.js';

const MAX_BODY_BYTES = 64 * 1024;

export interface ProbeResult {
  ok: boolean;
  status: number | null;
  ms: number;
  /** Why it failed, in words fit for a log line and /admin/backends. */
  error: string | null;
}

export interface ProberDeps {
  clock: Clock;
  random: () => number;
  dispatcher: Dispatcher;
}

/** Run one HTTP probe against a backend; never throws. `managementOrigin` serves probes whose base is the management API. */
export async function runProbe(origin: string, probe: ResolvedProbe, managementOrigin: string | null, deps: ProberDeps): Promise<ProbeResult> {
  const started = deps.clock.now();
  const ac = new AbortController();
  const timer = deps.clock.setTimer(probe.timeoutMs, () => ac.abort(new Error(`timed out after ${probe.timeoutMs}ms`)));
  try {
    const res = await request(requestUrl(origin, probe, managementOrigin), {
      dispatcher: deps.dispatcher,
      method: probe.method as Dispatcher.HttpMethod,
      headers: probe.headers,
      signal: ac.signal,
      // A fresh connection per probe: the answer is about the server now, not a stale pooled socket.
      reset: true,
      headersTimeout: probe.timeoutMs,
      bodyTimeout: probe.timeoutMs,
    });
    const body = await readLimited(res.body);
    const ms = deps.clock.now() - started;
    const verdict = checkResponse(res.statusCode, body, probe);
    return { ok: verdict.ok, status: res.statusCode, ms, error: verdict.reason };
  } catch (err) {
    const reason = ac.signal.aborted ? (ac.signal.reason as Error).message : describe(err);
    return { ok: false, status: null, ms: deps.clock.now() - started, error: reason };
  } finally {
    timer.cancel();
  }
}

async function readLimited(body: AsyncIterable<Buffer> & { destroy(): void }): Promise<string> {
  let text = '';
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      body.destroy();
      break;
    }
    text += chunk.toString('utf8');
  }
  return text;
}

function describe(err: unknown): string {
  const e = err as { code?: string; message?: string };
  return e.code ? `${e.code}: ${e.message ?? ''}`.trim() : (e.message ?? String(err));
}

/**
 * Repeats one task every interval +- jitter. The next run is scheduled only when the previous one
 * finished, so runs never overlap; the first runs at once on start, not after one interval.
 */
export class ProbeLoop {
  readonly #intervalMs: number;
  readonly #jitter: number;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #task: () => Promise<void>;
  #timer: Timer | null = null;
  #stopped = true;
  #running = false;

  constructor(intervalMs: number, jitter: number, deps: { clock: Clock; random: () => number }, task: () => Promise<void>) {
    this.#intervalMs = intervalMs;
    this.#jitter = jitter;
    this.#clock = deps.clock;
    this.#random = deps.random;
    this.#task = task;
  }

  get running(): boolean {
    return !this.#stopped;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    void this.#tick();
  }

  stop(): void {
    this.#stopped = true;
    this.#timer?.cancel();
    this.#timer = null;
  }

  /** Run now instead of at the next tick (e.g. right after an ejection ends); never overlaps a run. */
  now(): void {
    if (this.#stopped || this.#running) return;
    this.#timer?.cancel();
    this.#timer = null;
    void this.#tick();
  }

  async #tick(): Promise<void> {
    if (this.#stopped || this.#running) return;
    this.#running = true;
    try {
      await this.#task();
    } finally {
      this.#running = false;
      if (!this.#stopped) this.#timer = this.#clock.setTimer(this.#nextDelay(), () => void this.#tick());
    }
  }

  /** Interval with +-jitter so a fleet's probes do not fire in lockstep. */
  #nextDelay(): number {
    const j = this.#jitter;
    return Math.max(1, Math.round(this.#intervalMs * (1 + j * (2 * this.#random() - 1))));
  }
}

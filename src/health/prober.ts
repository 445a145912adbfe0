// One HTTP probe (runProbe), and the loop that repeats one probe role: first at once, then jittered, never overlapping.
import type { Dispatcher } from 'undici';
import type { Clock, Timer } from '../clock.js';
import { checkResponse } from './body-check.js';
import { boundedRequest, type RequestFailure } from './bounded-request.js';
import { requestUrl } from './presets/index.js';
import type { ResolvedProbe } from './resolve.js';

/** A longer body is cut: the expectation is judged on at most its first 64 KiB. */
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
  const r = await boundedRequest(
    {
      url: requestUrl(origin, probe, managementOrigin),
      method: probe.method as Dispatcher.HttpMethod,
      headers: probe.headers,
      timeoutMs: probe.timeoutMs,
      maxBodyBytes: MAX_BODY_BYTES,
      overLimit: 'truncate',
      // A fresh connection per probe: the answer is about the server now, not a stale pooled socket.
      reset: true,
    },
    deps,
  );
  if (!r.ok) return { ok: false, status: null, ms: r.ms, error: describe(r.failure) };
  const verdict = checkResponse(r.status, r.body, probe);
  return { ok: verdict.ok, status: r.status, ms: r.ms, error: verdict.reason };
}

/** Transport errors lead with their code: "ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:8000". */
function describe(f: RequestFailure): string {
  return f.kind === 'transport' && f.code !== null ? `${f.code}: ${f.message}`.trim() : f.message;
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

// Active readiness probing of one backend: first probe at once, then jittered, never overlapping.
import { request, type Dispatcher } from 'undici';
import type { Backend } from '../backends/backend.js';
import type { Clock, Timer } from '../clock.js';
import type { HealthConfig, ProbeConfig } from '../config/types.js';

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

/** Run one HTTP probe against `origin`; never throws. */
export async function runProbe(origin: string, probe: ProbeConfig, deps: ProberDeps): Promise<ProbeResult> {
  const started = deps.clock.now();
  const ac = new AbortController();
  const timer = deps.clock.setTimer(probe.timeoutMs, () => ac.abort(new Error(`timed out after ${probe.timeoutMs}ms`)));
  try {
    const res = await request(origin + probe.path, {
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
    const statusOk = probe.expectStatus === null ? res.statusCode >= 200 && res.statusCode < 300 : probe.expectStatus.includes(res.statusCode);
    if (!statusOk) return { ok: false, status: res.statusCode, ms, error: `status ${res.statusCode}` };
    if (probe.expectBody !== null && !body.includes(probe.expectBody)) {
      return { ok: false, status: res.statusCode, ms, error: `body does not contain ${JSON.stringify(probe.expectBody)}` };
    }
    return { ok: true, status: res.statusCode, ms, error: null };
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

export class Prober {
  readonly #backend: Backend;
  readonly #health: HealthConfig;
  readonly #deps: ProberDeps;
  #timer: Timer | null = null;
  #stopped = false;
  #running = false;

  constructor(backend: Backend, health: HealthConfig, deps: ProberDeps) {
    this.#backend = backend;
    this.#health = health;
    this.#deps = deps;
  }

  /** The first probe runs at once, not after one interval. */
  start(): void {
    void this.#tick();
  }

  stop(): void {
    this.#stopped = true;
    this.#timer?.cancel();
    this.#timer = null;
  }

  async #tick(): Promise<void> {
    if (this.#stopped || this.#running) return;
    this.#running = true;
    const probe = this.#health.readiness;
    const b = this.#backend;
    try {
      const result = await runProbe(b.origin, probe, this.#deps);
      if (this.#stopped) return;
      b.lastProbe = { at: this.#deps.clock.wallNow(), ok: result.ok, status: result.status, ms: result.ms, error: result.error };
      (result.ok ? b.stats.probeOk : b.stats.probeFail).inc();
      const reason = result.ok ? `readiness ${probe.path} passed` : `readiness ${probe.path} failed: ${result.error}`;
      b.observeProbe({ type: result.ok ? 'probe-pass' : 'probe-fail' }, probe, reason);
    } finally {
      this.#running = false;
      if (!this.#stopped) this.#timer = this.#deps.clock.setTimer(this.#nextDelay(), () => void this.#tick());
    }
  }

  /** Interval with +-jitter so a fleet's probes do not fire in lockstep. */
  #nextDelay(): number {
    const { intervalMs } = this.#health.readiness;
    const j = this.#health.jitter;
    return Math.max(1, Math.round(intervalMs * (1 + j * (2 * this.#deps.random() - 1))));
  }
}

// Warm-up: the configured requests, sent to a freshly admitted backend before any user request; all must succeed.
import { request, type Dispatcher } from 'undici';
import type { Clock } from '../clock.js';
import type { WarmupConfig } from '../config/types.js';

export type WarmupResult = { ok: true; ms: number } | { ok: false; reason: string };

export interface WarmupDeps {
  clock: Clock;
  dispatcher: Dispatcher;
}

export async function runWarmup(origin: string, w: WarmupConfig, deps: WarmupDeps): Promise<WarmupResult> {
  const started = deps.clock.now();
  let next = 0;
  let failure: string | null = null;
  const worker = async (): Promise<void> => {
    while (failure === null && next < w.requests) {
      const n = next++;
      const r = await one(origin, w, deps, n);
      if (r !== null) failure ??= r;
    }
  };
  await Promise.all(Array.from({ length: Math.min(w.concurrency, w.requests) }, worker));
  return failure === null ? { ok: true, ms: deps.clock.now() - started } : { ok: false, reason: failure };
}

/** One warm-up request; null when it succeeded, else why not. */
async function one(origin: string, w: WarmupConfig, deps: WarmupDeps, n: number): Promise<string | null> {
  const ac = new AbortController();
  const timer = deps.clock.setTimer(w.timeoutMs, () => ac.abort(new Error(`timed out after ${w.timeoutMs}ms`)));
  try {
    const headers: Record<string, string> = { 'x-infergate-warmup': String(n + 1), ...w.headers };
    if (w.body !== null && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
    const res = await request(origin + w.path, {
      dispatcher: deps.dispatcher,
      method: w.method as Dispatcher.HttpMethod,
      headers,
      body: w.body,
      signal: ac.signal,
      headersTimeout: w.timeoutMs,
      bodyTimeout: w.timeoutMs,
    });
    await res.body.dump();
    return res.statusCode >= 200 && res.statusCode < 300 ? null : `warm-up request ${n + 1} answered ${res.statusCode}`;
  } catch (err) {
    const reason = ac.signal.aborted ? (ac.signal.reason as Error).message : (err as Error).message;
    return `warm-up request ${n + 1} failed: ${reason}`;
  } finally {
    timer.cancel();
  }
}

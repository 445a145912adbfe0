// Warm-up: the configured requests, sent to a freshly admitted backend before any user request; all must succeed.
import type { Dispatcher } from 'undici';
import type { Clock } from '../clock.js';
import type { WarmupConfig } from '../config/types.js';
import { boundedRequest } from './bounded-request.js';

/** The answer's body is read up to here and dropped; a longer one closes the connection. */
const MAX_BODY_BYTES = 128 * 1024;

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
  const headers: Record<string, string> = { 'x-infergate-warmup': String(n + 1), ...w.headers };
  if (w.body !== null && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
  const r = await boundedRequest(
    { url: origin + w.path, method: w.method as Dispatcher.HttpMethod, headers, body: w.body, timeoutMs: w.timeoutMs, maxBodyBytes: MAX_BODY_BYTES, overLimit: 'truncate' },
    deps,
  );
  // The status decides: a body that breaks off after the status line does not fail the warm-up.
  if (!r.ok && r.status === null) return `warm-up request ${n + 1} failed: ${r.failure.message}`;
  const status = r.status!;
  return status >= 200 && status < 300 ? null : `warm-up request ${n + 1} answered ${status}`;
}

// One scrape of a model server's /metrics: the body streams through the parser as it arrives, bounded in time and size.
import { request, type Dispatcher } from 'undici';
import type { Clock } from '../clock.js';
import { LoadReader, wantedMetrics, type AdapterSpec } from './adapters.js';
import { PromTextParser } from './prom-text.js';
import type { ServerLoad } from './types.js';

export interface ScrapeRequest {
  url: string;
  spec: AdapterSpec;
  timeoutMs: number;
  maxBytes: number;
}

export interface ScrapeDeps {
  clock: Clock;
  dispatcher: Dispatcher;
}

/** Why a scrape gave nothing: the `reason` label of infergate_load_scrape_failures_total. */
export type ScrapeFailure = 'timeout' | 'connect' | 'status' | 'parse' | 'too-large' | 'no-signal';

export type ScrapeResult =
  | { ok: true; load: ServerLoad; ms: number }
  | { ok: false; reason: ScrapeFailure; message: string; ms: number };

/** Never throws. A body with none of the adapter's metrics is a failure ('no-signal'): wrong adapter, port or path. */
export async function scrapeLoad(req: ScrapeRequest, deps: ScrapeDeps): Promise<ScrapeResult> {
  const started = deps.clock.now();
  const ac = new AbortController();
  const timer = deps.clock.setTimer(req.timeoutMs, () => ac.abort(new Error(`timed out after ${req.timeoutMs}ms`)));
  const fail = (reason: ScrapeFailure, message: string): ScrapeResult => ({ ok: false, reason, message, ms: deps.clock.now() - started });
  let body: Dispatcher.ResponseData['body'] | null = null;
  try {
    const res = await request(req.url, {
      dispatcher: deps.dispatcher,
      method: 'GET',
      // The classic text format: every server here speaks it, and OpenMetrics would add nothing we read.
      headers: { accept: 'text/plain;version=0.0.4;q=1,*/*;q=0.1' },
      signal: ac.signal,
      headersTimeout: req.timeoutMs,
      bodyTimeout: req.timeoutMs,
    });
    body = res.body;
    if (res.statusCode !== 200) {
      discard(res.body);
      return fail('status', `HTTP ${res.statusCode} from ${req.url}`);
    }
    const wanted = wantedMetrics(req.spec);
    const reader = new LoadReader(req.spec);
    const parser = new PromTextParser((s) => reader.add(s), { want: wanted, maxBytes: req.maxBytes });
    try {
      for await (const chunk of res.body) parser.write(chunk as Buffer);
      parser.end();
    } catch (err) {
      // Leaving the for-await has closed the body already.
      if (ac.signal.aborted) throw err;
      const message = (err as Error).message;
      return fail(message.includes('body larger than') ? 'too-large' : 'parse', message);
    }
    const load = reader.result();
    if (load.queued === undefined && load.running === undefined && load.kvUsage === undefined) {
      return fail('no-signal', `none of ${[...wanted].join(', ')} in ${req.url}`);
    }
    return { ok: true, load: { ...load, at: deps.clock.now() }, ms: deps.clock.now() - started };
  } catch (err) {
    if (body !== null) discard(body);
    if (ac.signal.aborted) return fail('timeout', (ac.signal.reason as Error).message);
    return fail('connect', (err as Error).message);
  } finally {
    timer.cancel();
  }
}

/** Stop reading a body; the abort error it then emits is expected, not an uncaught error. */
function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => {});
  body.destroy();
}

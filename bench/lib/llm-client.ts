/**
 * The `llm` scenario's client: sends a schedule of streamed completions open-loop (each at its time, whatever the
 * answers so far), and times each one: time to first token (the first SSE `data:` event) and end to end (the stream's
 * end, which must carry `data: [DONE]`).
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Arrival, RequestKind } from './llm-workload.ts';
import { percentile, round } from './report.ts';

export interface StreamResult {
  readonly kind: RequestKind;
  readonly sentMs: number;
  /** null: no token arrived. */
  readonly ttftMs: number | null;
  /** null: the stream did not complete. */
  readonly e2eMs: number | null;
  readonly outputTokens: number;
  readonly status: number;
  readonly error: string | null;
}

export interface RunOptions {
  /** After the last arrival, wait this long for streams still open, then abort them (counted as unfinished). */
  readonly drainLimitMs: number;
}

/** Runs the schedule against `baseUrl`; resolves when every request has an outcome. */
export async function runSchedule(baseUrl: string, schedule: readonly Arrival[], opts: RunOptions): Promise<{ results: StreamResult[]; wallMs: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const open = new Set<http.ClientRequest>();
  const pending: Promise<StreamResult>[] = [];
  const t0 = performance.now();
  let next = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now() - t0;
      while (next < schedule.length && (schedule[next] as Arrival).atMs <= now) {
        pending.push(send(baseUrl, schedule[next] as Arrival, agent, open, t0));
        next += 1;
      }
      if (next >= schedule.length) return resolve();
      setTimeout(tick, Math.max(0, (schedule[next] as Arrival).atMs - (performance.now() - t0)));
    };
    tick();
  });
  const drained = Promise.all(pending);
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      for (const req of open) req.destroy(new Error('unfinished at drain limit'));
      resolve();
    }, opts.drainLimitMs);
  });
  await Promise.race([drained, limit]);
  clearTimeout(timer);
  const results = await drained;
  const wallMs = performance.now() - t0;
  agent.destroy();
  return { results, wallMs };
}

function send(baseUrl: string, arrival: Arrival, agent: http.Agent, open: Set<http.ClientRequest>, t0: number): Promise<StreamResult> {
  const { request } = arrival;
  const sentMs = performance.now() - t0;
  return new Promise((resolve) => {
    let ttftMs: number | null = null;
    let status = 0;
    let tail = '';
    let events = 0;
    let settled = false;
    const done = (e2e: boolean, error: string | null): void => {
      if (settled) return;
      settled = true;
      open.delete(req);
      const end = performance.now() - t0;
      resolve({ kind: request.kind, sentMs, ttftMs, e2eMs: e2e ? end - sentMs : null, outputTokens: e2e ? request.maxTokens : events, status, error });
    };
    const req = http.request(
      baseUrl + request.path,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(request.body), accept: 'text/event-stream' } },
      (res) => {
        status = res.statusCode ?? 0;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (ttftMs === null && status === 200 && chunk.includes('data:')) ttftMs = performance.now() - t0 - sentMs;
          // Events are counted by their blank-line separators; one may straddle two chunks.
          let at = chunk.indexOf('\n\n');
          while (at !== -1) {
            events += 1;
            at = chunk.indexOf('\n\n', at + 2);
          }
          if (tail.endsWith('\n') && !tail.endsWith('\n\n') && chunk.startsWith('\n')) events += 1;
          tail = (tail + chunk).slice(-64);
        });
        res.on('end', () => {
          const complete = status === 200 && tail.includes('[DONE]');
          done(complete, complete ? null : status === 200 ? 'stream ended without [DONE]' : `status ${status}`);
        });
        res.on('error', (e) => done(false, e.message));
      },
    );
    open.add(req);
    req.on('error', (e) => done(false, (e as NodeJS.ErrnoException).code ?? e.message));
    req.end(request.body);
  });
}

export interface StreamSummary {
  sent: number;
  completed: number;
  /** Non-200 answers, connection errors, streams cut or unfinished at the drain limit. */
  failed: number;
  ttftP50Ms: number;
  ttftP90Ms: number;
  ttftP99Ms: number;
  e2eP50Ms: number;
  e2eP99Ms: number;
  /**
   * Completed requests per second of the arrival window: the offered rate when every request completes (by the drain
   * limit), less what failed or was still unfinished. Open-loop, so it only falls short when a balancer lets a backlog
   * grow past the drain limit.
   */
  throughputRps: number;
  /** Output tokens streamed per second of the arrival window. */
  tokensPerSec: number;
  /** TTFT p99 per request kind. */
  ttftP99ByKind: Record<string, number>;
}

export function summariseStreams(results: readonly StreamResult[], windowMs: number): StreamSummary {
  const ok = results.filter((r) => r.e2eMs !== null);
  // A request that never got its first token counts at the time it was given up on: leaving it out would reward a
  // target for starving requests.
  const ttfts = results.map((r) => r.ttftMs ?? Number.POSITIVE_INFINITY);
  const e2es = results.map((r) => r.e2eMs ?? Number.POSITIVE_INFINITY);
  const byKind: Record<string, number> = {};
  for (const kind of new Set(results.map((r) => r.kind))) {
    byKind[kind] = round(percentile(results.filter((r) => r.kind === kind).map((r) => r.ttftMs ?? Number.POSITIVE_INFINITY), 99), 0);
  }
  const tokens = results.reduce((sum, r) => sum + r.outputTokens, 0);
  return {
    sent: results.length,
    completed: ok.length,
    failed: results.length - ok.length,
    ttftP50Ms: round(percentile(ttfts, 50), 1),
    ttftP90Ms: round(percentile(ttfts, 90), 1),
    ttftP99Ms: round(percentile(ttfts, 99), 1),
    e2eP50Ms: round(percentile(e2es, 50), 1),
    e2eP99Ms: round(percentile(e2es, 99), 1),
    throughputRps: round((ok.length * 1000) / windowMs, 2),
    tokensPerSec: round((tokens * 1000) / windowMs, 1),
    ttftP99ByKind: byKind,
  };
}

/**
 * The fleet's capacity with perfect dispatch: every replica kept full by its own closed loop (`concurrency` requests
 * in flight each, a new one the moment one ends), completions counted after `warmupMs` for `measureMs`. Completed
 * requests per second over the whole fleet: what no balancer can beat on this mix.
 */
export async function measureCapacity(
  replicaUrls: readonly string[],
  concurrency: number,
  next: () => Arrival['request'],
  warmupMs: number,
  measureMs: number,
): Promise<{ requestsPerSec: number; perReplica: number[] }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const open = new Set<http.ClientRequest>();
  const t0 = performance.now();
  const endAt = warmupMs + measureMs;
  const perReplica = replicaUrls.map(() => 0);
  const loops: Promise<void>[] = [];
  replicaUrls.forEach((url, i) => {
    for (let c = 0; c < concurrency; c += 1) {
      loops.push(
        (async () => {
          for (let n = 0; n < 100_000 && performance.now() - t0 < endAt; n += 1) {
            const result = await send(url, { atMs: 0, request: next() }, agent, open, t0);
            const doneAt = result.sentMs + (result.e2eMs ?? 0);
            if (result.e2eMs !== null && doneAt >= warmupMs && doneAt < endAt) perReplica[i] = (perReplica[i] ?? 0) + 1;
          }
        })(),
      );
    }
  });
  // Requests still running at the end are not waited for: abort them, then let the loops see their outcome.
  await new Promise((r) => setTimeout(r, endAt));
  for (const req of open) req.destroy(new Error('capacity run over'));
  await Promise.all(loops);
  agent.destroy();
  const total = perReplica.reduce((a, b) => a + b, 0);
  return { requestsPerSec: round((total * 1000) / measureMs, 2), perReplica: perReplica.map((n) => round((n * 1000) / measureMs, 2)) };
}

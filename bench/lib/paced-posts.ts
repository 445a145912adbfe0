/**
 * Open-loop paced POSTs at a fixed rate, for the CPU-model table: request n is due at n / rate seconds and is sent at
 * its time whatever happened to the others. Unlike a setInterval loop, a late tick (the bench process starved of CPU
 * for a moment) sends every request that fell due meanwhile, so the offered rate stays the one asked for.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';

export interface PostResult {
  /** ms from the run's start at which the request was due. */
  readonly dueMs: number;
  /** ms from due time to the answer's end: includes any delay in sending it, as a user would see it. */
  readonly latencyMs: number;
  readonly status: number;
  /** What the answer says served it (the JSON body's `replica`), '' when unknown. */
  readonly servedBy: string;
}

export async function pacedPosts(url: string, body: string, ratePerSec: number, durationSec: number, timeoutMs = 10_000): Promise<PostResult[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const total = Math.floor(ratePerSec * durationSec);
  const pending: Promise<PostResult>[] = [];
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now() - t0;
      while (pending.length < total && (pending.length * 1000) / ratePerSec <= now) pending.push(post(url, body, agent, t0, (pending.length * 1000) / ratePerSec, timeoutMs));
      if (pending.length >= total) return resolve();
      setTimeout(tick, Math.max(0, (pending.length * 1000) / ratePerSec - (performance.now() - t0)));
    };
    tick();
  });
  const results = await Promise.all(pending);
  agent.destroy();
  return results;
}

function post(url: string, body: string, agent: http.Agent, t0: number, dueMs: number, timeoutMs: number): Promise<PostResult> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (status: number, text: string): void => {
      if (settled) return;
      settled = true;
      let servedBy = '';
      try {
        servedBy = String((JSON.parse(text) as { replica?: unknown }).replica ?? '');
      } catch {
        // not JSON: an error page
      }
      resolve({ dueMs, latencyMs: performance.now() - t0 - dueMs, status, servedBy });
    };
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => done(res.statusCode ?? 0, text));
      res.on('error', () => done(0, ''));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error('client timeout')));
    req.on('error', () => done(0, ''));
    req.end(body);
  });
}

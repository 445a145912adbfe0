// The load scraper on the injected clock against a fake vLLM /metrics: READY backends only, the load reaches the
// backend, a failure is counted and changes no state, a signal older than staleAfter is ignored, the view carries it.
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Backend } from '../../src/backends/backend.js';
import { formatErrors, parseConfig } from '../../src/config/load.js';
import { warmupBackoffMs } from '../../src/health/controller.js';
import { Metrics } from '../../src/observe/metrics.js';
import { LoadScraper, metricsUrl } from '../../src/signals/scraper.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { startBackend, type TestBackend } from '../helpers/backend.js';

const VLLM = readFileSync(new URL('./fixtures/vllm.prom', import.meta.url), 'utf8');
const INTERVAL = 200;
const STALE = 2000;

interface Rig {
  clock: ManualClock;
  backend: Backend;
  scraper: LoadScraper;
  metrics: Metrics;
  server: TestBackend;
  /** Answer of /metrics: a status and a body. */
  answer: { status: number; body: string };
  /** Resolves when the n-th scrape has finished (the task then schedules the next one). */
  scrapes(n: number): Promise<void>;
  /** Times the scraper told its pool that a load was stored (Cluster.loadChanged). */
  changed(): number;
}

const rigs: Rig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) {
    r.scraper.stop();
    await r.server.close();
  }
});

async function rig(): Promise<Rig> {
  const answer = { status: 200, body: VLLM };
  const server = await startBackend((_req, res) => {
    res.writeHead(answer.status, { 'content-type': 'text/plain' });
    res.end(answer.body);
  });
  const text = `pools:\n  p:\n    balance: load-aware\n    health: { preset: vllm }\n    backends: [${server.url}]\n`;
  const parsed = parseConfig(text, 'rig.yaml', {});
  if (!parsed.ok) throw new Error(formatErrors(parsed.errors));
  const pool = parsed.config.pools.get('p')!;
  const clock = new ManualClock();
  const metrics = new Metrics('test', { defaultMetrics: false });
  const policy = { healthyThreshold: 1, unhealthyThreshold: 2, livenessThreshold: 3, admission: false, warmup: false, warmupBackoffMs };
  const backend = new Backend(pool.groups[0]!.backends[0]!, pool, 'default', { stats: metrics.bindBackend('p', 'default', 'b'), now: () => clock.now(), onChange: () => {}, policy, hasStartupProbe: false });
  let changed = 0;
  const scraper = new LoadScraper(backend, pool.load.scrape!, { clock, random: () => 0.5, log: pino({ level: 'silent' }), stats: metrics.loadStats(), tls: null, loadChanged: () => changed++ });
  // With random 0.5 the jitter is 0: every next scrape is scheduled exactly INTERVAL ahead.
  const r: Rig = { clock, backend, scraper, metrics, server, answer, scrapes: (n) => clock.waitFor(INTERVAL, n), changed: () => changed };
  rigs.push(r);
  return r;
}

async function counter(m: Metrics, result: string): Promise<number> {
  const values = (await m.loadScrapes.get()).values;
  return values.filter((v) => v.labels.result === result).reduce((a, v) => a + v.value, 0);
}

describe('LoadScraper', () => {
  it('defaults for a vLLM pool: the vLLM adapter on the serving port, /metrics, 200ms, stale after 2s', async () => {
    const r = await rig();
    expect(r.scraper.url).toBe(`${r.server.url}/metrics`);
    expect(metricsUrl('http://10.0.0.5:8000', { path: '/metrics', port: 8002 })).toBe('http://10.0.0.5:8002/metrics');
  });

  it('scrapes only while the backend is READY; the load reaches the backend, stamped on the clock', async () => {
    const r = await rig();
    r.scraper.start();
    await r.scrapes(1);
    expect(r.server.requests).toHaveLength(0); // LOADING: not scraped
    expect(r.backend.serverLoad()).toBeUndefined();
    r.backend.set('probe', { type: 'readiness-pass' }, 'test');
    expect(r.backend.state()).toBe('READY');
    r.clock.advance(INTERVAL);
    await r.scrapes(2);
    expect(r.server.requests.map((q) => q.url)).toEqual(['/metrics']);
    expect(r.backend.serverLoad()).toEqual({ queued: 4, running: 21, kvUsage: expect.closeTo(0.65, 6), at: INTERVAL, seq: 1 });
    expect(await counter(r.metrics, 'ok')).toBe(1);
    // The pool hears of it (requests held for overload may go now); the skipped scrape while LOADING said nothing.
    expect(r.changed()).toBe(1);
  });

  it('a failed scrape is counted, keeps the backend READY and the last good signal until it is stale', async () => {
    const r = await rig();
    r.backend.set('probe', { type: 'readiness-pass' }, 'test');
    r.scraper.start();
    await r.scrapes(1);
    expect(r.backend.serverLoad()?.queued).toBe(4);
    r.answer.status = 500;
    for (let n = 2; n <= 10; n++) {
      r.clock.advance(INTERVAL);
      await r.scrapes(n);
    }
    // 9 failures over 1.8 s: the signal of t=0 is still within staleAfter.
    expect(await counter(r.metrics, 'status')).toBe(9);
    expect(r.backend.state()).toBe('READY');
    expect(r.backend.serverLoad()?.queued).toBe(4);
    r.clock.advance(INTERVAL + 1);
    await r.scrapes(11);
    expect(r.clock.now()).toBeGreaterThan(STALE);
    expect(r.backend.serverLoad()).toBeUndefined(); // stale: ignored by the picker
    // Every scrape told the pool, failed ones too: the one that let the signal go stale releases requests held on it.
    expect(r.changed()).toBe(11);
    expect(r.backend.lastServerLoad()?.queued).toBe(4); // still shown, with its age
    expect(r.backend.serverLoadAgeMs()).toBe(r.clock.now());
    // The server answers again: fresh.
    r.answer.status = 200;
    r.answer.body = VLLM.replace(/num_requests_waiting\{engine="0"([^}]*)\} 3\.0/, 'num_requests_waiting{engine="0"$1} 30.0');
    r.clock.advance(INTERVAL);
    await r.scrapes(12);
    expect(r.backend.serverLoad()?.queued).toBe(31);
  });

  it('/metrics gauges: load per signal, age, stale flag, and the load-aware score', async () => {
    const r = await rig();
    r.backend.set('probe', { type: 'readiness-pass' }, 'test');
    r.scraper.start();
    await r.scrapes(1);
    const m = new Metrics('test', { defaultMetrics: false, backends: () => [r.backend] });
    const text = await m.registry.metrics();
    expect(text).toMatch(/infergate_backend_load\{pool="p",group="default",backend="[^"]+",signal="queued"\} 4/);
    expect(text).toMatch(/infergate_backend_load\{[^}]*signal="kv_usage"\} 0\.65/);
    expect(text).toMatch(/infergate_backend_load_stale\{[^}]*\} 0/);
    expect(text).toMatch(/infergate_backend_load_age_seconds\{[^}]*\} 0/);
    // Alone in its pool, unknown latency (1) x load factor (1 + 2 x queue 4/4 + 2 x 0.65) = 4.3.
    expect(text).toMatch(/infergate_backend_load_score\{[^}]*\} 4\.3/);
  });

  it('in a worker, the owner\'s scrape arrives with its age and goes stale on the worker\'s clock', async () => {
    const r = await rig();
    r.backend.mirrorServerLoad({ queued: 2, kvUsage: 0.5, ageMs: 1500 });
    expect(r.backend.serverLoad()).toEqual({ queued: 2, kvUsage: 0.5, at: -1500 });
    r.clock.advance(501);
    expect(r.backend.serverLoad()).toBeUndefined();
  });
});

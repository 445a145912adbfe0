// Real time, end to end: two vLLM-like servers, one saying its KV cache is full and its queue long. infergate
// (balance: load-aware, preset vllm, nothing else written) scrapes both, sends the traffic to the other, shows the
// signals in /admin/backends and /metrics, and the routing view carries them to a worker.
import { afterEach, expect, test } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import { applyView, captureView } from '../../src/workers/view.js';
import { WorkerLink } from '../../src/workers/worker.js';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { startStack, type Stack } from '../helpers/stack.js';

const metricsText = (waiting: number, kv: number): string => [
  '# HELP vllm:num_requests_running Number of requests in model execution batches.',
  '# TYPE vllm:num_requests_running gauge',
  'vllm:num_requests_running{engine="0",model_name="m"} 8.0',
  '# HELP vllm:num_requests_waiting Number of requests waiting to be processed.',
  '# TYPE vllm:num_requests_waiting gauge',
  `vllm:num_requests_waiting{engine="0",model_name="m"} ${waiting}.0`,
  '# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.',
  '# TYPE vllm:kv_cache_usage_perc gauge',
  `vllm:kv_cache_usage_perc{engine="0",model_name="m"} ${kv}`,
  '',
].join('\n');

let stack: Stack | undefined;
let worker: App | undefined;
const servers: TestBackend[] = [];
afterEach(async () => {
  await worker?.close();
  await stack?.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function vllmLike(waiting: number, kv: number): Promise<TestBackend> {
  const s = await startBackend((req, res) => {
    if (req.url === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(metricsText(waiting, kv));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"choices":[]}');
  });
  servers.push(s);
  return s;
}

async function until(what: string, check: () => Promise<boolean> | boolean): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('traffic avoids the server whose KV cache is full; the signals show in the admin API, /metrics and a worker\'s view', async () => {
  const full = await vllmLike(20, 1.0);
  const free = await vllmLike(0, 0.1);
  const yaml = `pools:\n  llm:\n    balance: load-aware\n    health: { preset: vllm, readiness: { interval: 1s } }\n    backends: [${full.url}, ${free.url}]\n`;
  stack = await startStack(yaml);
  const s = stack;
  type Row = { url: string; load: { queued: number | null; kvUsage: number | null; running: number | null; stale: boolean; ageMs: number } | null };
  const rows = async (): Promise<Row[]> => ((await (await fetch(`${s.adminUrl}/admin/backends`)).json()) as { backends: Row[] }).backends;
  await until('both backends scraped', async () => (await rows()).every((r) => r.load !== null && !r.load.stale));
  const byUrl = new Map((await rows()).map((r) => [r.url, r.load]));
  expect(byUrl.get(full.url)).toMatchObject({ queued: 20, running: 8, kvUsage: 1, stale: false });
  expect(byUrl.get(free.url)).toMatchObject({ queued: 0, running: 8, kvUsage: 0.1, stale: false });

  for (let i = 0; i < 40; i++) {
    const res = await fetch(`${s.url}/v1/completions`, { method: 'POST', body: '{"prompt":"hi"}', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
  }
  const toFull = full.requests.filter((r) => r.url === '/v1/completions').length;
  const toFree = free.requests.filter((r) => r.url === '/v1/completions').length;
  // Load factor 1 + 2 x 1 + 2 x 1 = 5 against 1.2: the full one is drawn (1.2 / 5)^8 ~ 1 in 100,000 at equal load.
  expect(toFull).toBeLessThanOrEqual(1);
  expect(toFree).toBeGreaterThanOrEqual(39);

  const metrics = await (await fetch(`${s.adminUrl}/metrics`)).text();
  expect(metrics).toMatch(/infergate_load_scrapes_total\{pool="llm",group="default",backend="[^"]+",result="ok"\} [1-9]/);
  expect(metrics).toMatch(/infergate_backend_load\{pool="llm",group="default",backend="[^"]+",signal="kv_usage"\} 1\b/);
  expect(metrics).toMatch(/infergate_backend_load_score\{pool="llm"/);

  // A worker process's clusters get the owner's scrape through the routing view, with its age.
  const parsed = parseConfig(`listen: 127.0.0.1:0\nadmin: { listen: 127.0.0.1:0 }\nlog: { level: silent, accessLog: false }\n${yaml}`, 'w.yaml', {});
  if (!parsed.ok) throw new Error('worker config');
  const link = new WorkerLink(() => {});
  worker = createApp(parsed.config, { role: 'worker', worker: link, clock: new ManualClock(), defaultMetrics: false });
  link.setClusters(() => worker!.pools());
  applyView(captureView(s.app.pools()), (p) => worker!.cluster(p));
  const mirrored = worker.cluster('llm')!.backends.map((b) => [b.origin, b.serverLoad()?.kvUsage] as const);
  expect(new Map(mirrored)).toEqual(new Map([[full.url, 1], [free.url, 0.1]]));
}, 30_000);

// Each adapter against a fake server exposing its server's metric text (fixtures cite their sources), over HTTP.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from 'undici';
import { systemClock } from '../../src/clock.js';
import { ADAPTERS, type AdapterSpec } from '../../src/signals/adapters.js';
import { scrapeLoad } from '../../src/signals/scrape.js';
import { startBackend, type TestBackend } from '../helpers/backend.js';

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

let server: TestBackend;
let body = '';
let status = 200;
/** Bytes per write: the body reaches the scraper in small chunks, as from a busy server. */
let chunk = 64;
let delayMs = 0;
const dispatcher = new Agent({ connections: 4 });

beforeAll(async () => {
  server = await startBackend((_req, res) => {
    setTimeout(() => {
      res.writeHead(status, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      const bytes = Buffer.from(body);
      for (let at = 0; at < bytes.length; at += chunk) res.write(bytes.subarray(at, at + chunk));
      res.end();
    }, delayMs);
  });
});
afterAll(async () => {
  await server.close();
  await dispatcher.close();
});

async function scrape(spec: AdapterSpec, text: string, opts: { timeoutMs?: number; maxBytes?: number } = {}) {
  body = text;
  return scrapeLoad({ url: `${server.url}/metrics`, spec, timeoutMs: opts.timeoutMs ?? 2000, maxBytes: opts.maxBytes ?? 1 << 20 }, { clock: systemClock, dispatcher });
}

describe('load adapters against fake servers', () => {
  it.each([
    // Two vLLM data-parallel engines: waiting 3 + 1, running 12 + 9, KV (0.75 + 0.55) / 2.
    { name: 'vllm', file: 'vllm.prom', spec: ADAPTERS.vllm, want: { queued: 4, running: 21, kvUsage: 0.65 } },
    // vLLM before v0.10: gpu_cache_usage_perc instead of kv_cache_usage_perc.
    { name: 'vllm (legacy names)', file: 'vllm-legacy.prom', spec: ADAPTERS.vllm, want: { queued: 0, running: 4, kvUsage: 0.3125 } },
    { name: 'tgi', file: 'tgi.prom', spec: ADAPTERS.tgi, want: { queued: 5, running: 32 } },
    // Triton: pending requests of both models added up; no running or KV signal.
    { name: 'triton', file: 'triton.prom', spec: ADAPTERS.triton, want: { queued: 8 } },
    { name: 'sglang', file: 'sglang.prom', spec: ADAPTERS.sglang, want: { queued: 14, running: 57, kvUsage: 0.42 } },
  ])('$name', async ({ file, spec, want }) => {
    status = 200;
    chunk = 61;
    const r = await scrape(spec, fixture(file));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const { at, ...load } = r.load;
    expect(at).toBeGreaterThan(0);
    expect(Object.keys(load).sort()).toEqual(Object.keys(want).sort());
    for (const [k, v] of Object.entries(want)) expect(load[k as keyof typeof load]).toBeCloseTo(v, 6);
  });

  it('a generic adapter with configured names, a label filter and a percent scale', async () => {
    const spec: AdapterSpec = {
      name: 'generic',
      queued: { metrics: ['nv_inference_pending_request_count'], aggregate: 'sum', scale: 1 },
      running: null,
      kvUsage: { metrics: ['nv_gpu_utilization'], aggregate: 'max', scale: 1 },
      labels: {},
      metricsPort: null,
    };
    const r = await scrape(spec, fixture('triton.prom'));
    expect(r.ok && r.load.queued).toBe(8);
    expect(r.ok && r.load.kvUsage).toBeCloseTo(0.81);
    const onlyResnet = await scrape({ ...spec, labels: { model: 'resnet50' }, kvUsage: null }, fixture('triton.prom'));
    expect(onlyResnet.ok && onlyResnet.load.queued).toBe(6);
    const percent = await scrape({ ...spec, queued: null, kvUsage: { metrics: ['kv_percent'], aggregate: 'mean', scale: 100 } }, 'kv_percent 73\n');
    expect(percent.ok && percent.load.kvUsage).toBeCloseTo(0.73);
  });

  it.each([
    { why: 'HTTP 500', setup: () => void (status = 500), text: 'x 1\n', reason: 'status' },
    { why: 'none of the metrics (wrong adapter or port)', setup: () => void (status = 200), text: fixture('tgi.prom'), reason: 'no-signal' },
    { why: 'a malformed wanted line', setup: () => void (status = 200), text: 'vllm:num_requests_waiting{model_name="m} 1\n', reason: 'parse' },
    { why: 'a body past maxBytes', setup: () => void (status = 200), text: fixture('vllm.prom'), reason: 'too-large', maxBytes: 200 },
  ])('fails with reason $reason on $why', async ({ setup, text, reason, maxBytes }) => {
    setup();
    const r = await scrape(ADAPTERS.vllm, text, { maxBytes });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toBe(reason);
  });

  it('fails with reason timeout when the server answers too late', async () => {
    status = 200;
    delayMs = 500;
    try {
      const r = await scrape(ADAPTERS.vllm, fixture('vllm.prom'), { timeoutMs: 100 });
      expect(!r.ok && r.reason).toBe('timeout');
    } finally {
      delayMs = 0;
    }
  });

  it('fails with reason connect when nothing listens', async () => {
    const r = await scrapeLoad({ url: 'http://127.0.0.1:1/metrics', spec: ADAPTERS.vllm, timeoutMs: 2000, maxBytes: 1000 }, { clock: systemClock, dispatcher });
    expect(!r.ok && r.reason).toBe('connect');
  });
});

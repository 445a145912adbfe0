// The pool's load block: defaults that follow the health preset, overrides, and errors at file:line:col.
import { describe, expect, it } from 'vitest';
import { formatErrors, parseConfig } from '../../src/config/load.js';
import type { PoolConfig } from '../../src/config/types.js';

function pool(body: string): PoolConfig {
  const r = parseConfig(`pools:\n  p:\n${body}    backends: [http://127.0.0.1:9101]\n`, 'l.yaml', {});
  if (!r.ok) throw new Error(formatErrors(r.errors));
  return r.config.pools.get('p')!;
}

function errors(body: string): string[] {
  const r = parseConfig(`pools:\n  p:\n${body}    backends: [http://127.0.0.1:9101]\n`, 'l.yaml', {});
  if (r.ok) return [];
  return formatErrors(r.errors).split('\n').filter(Boolean);
}

describe('load config', () => {
  it('balance load-aware with preset vllm and nothing else: the vLLM adapter on the serving port, 200ms, 500ms, stale after 2s, 4mb', () => {
    const p = pool('    balance: load-aware\n    health: { preset: vllm }\n');
    expect(p.balance).toBe('load-aware');
    expect(p.load.scrape).toMatchObject({ path: '/metrics', port: null, intervalMs: 200, timeoutMs: 500, maxBodyBytes: 4 * 1024 * 1024 });
    expect(p.load.scrape!.adapter.name).toBe('vllm');
    expect(p.load.staleAfterMs).toBe(2000);
    expect(p.load.picker).toEqual({ weights: { queue: 2, kvCache: 2, inflight: 1, latency: 1 }, scoreAllUpTo: 32 });
  });

  it.each([
    { preset: 'tgi', adapter: 'tgi', port: null },
    { preset: 'triton', adapter: 'triton', port: 8002 },
  ])('preset $preset defaults to adapter $adapter (metrics port $port)', ({ preset, adapter, port }) => {
    const p = pool(`    balance: load-aware\n    health: { preset: ${preset} }\n`);
    expect(p.load.scrape?.adapter.name).toBe(adapter);
    expect(p.load.scrape?.port).toBe(port);
  });

  it('a preset without an adapter (http) scrapes nothing: in-flight and latency alone', () => {
    expect(pool('    balance: load-aware\n').load.scrape).toBeNull();
    expect(pool('    balance: load-aware\n    load: { adapter: none }\n    health: { preset: vllm }\n').load.scrape).toBeNull();
  });

  it('a pool that is not load-aware scrapes only when it writes a load block', () => {
    expect(pool('    health: { preset: vllm }\n').load.scrape).toBeNull();
    expect(pool('    health: { preset: vllm }\n    load: {}\n').load.scrape?.adapter.name).toBe('vllm');
  });

  it('sglang, a port override, names of a generic server with a label filter and a percent scale, weights', () => {
    expect(pool('    balance: load-aware\n    load: { adapter: sglang, port: 9090, interval: 100ms, staleAfter: 1s }\n').load.scrape).toMatchObject({ port: 9090, intervalMs: 100 });
    const p = pool([
      '    balance: load-aware',
      '    load:',
      '      adapter: generic',
      '      metrics: { queued: [my_queue, my_old_queue], kvCache: kv_percent, kvCacheScale: 100, labels: { model: llama } }',
      '      weights: { queue: 3, kvCache: 0, latency: 0.5 }',
      '      scoreAllUpTo: 8',
      '',
    ].join('\n'));
    const a = p.load.scrape!.adapter;
    expect(a.queued).toEqual({ metrics: ['my_queue', 'my_old_queue'], aggregate: 'sum', scale: 1 });
    expect(a.running).toBeNull();
    expect(a.kvUsage).toEqual({ metrics: ['kv_percent'], aggregate: 'mean', scale: 100 });
    expect(a.labels).toEqual({ model: 'llama' });
    expect(p.load.picker).toEqual({ weights: { queue: 3, kvCache: 0, inflight: 1, latency: 0.5 }, scoreAllUpTo: 8 });
  });

  it('metrics on a built-in adapter replace only the names written', () => {
    const a = pool('    balance: load-aware\n    health: { preset: vllm }\n    load: { metrics: { queued: my_waiting } }\n').load.scrape!.adapter;
    expect(a.queued?.metrics).toEqual(['my_waiting']);
    expect(a.kvUsage?.metrics).toEqual(['vllm:kv_cache_usage_perc', 'vllm:gpu_cache_usage_perc']);
  });

  it.each([
    { body: '    load: { adapter: generic }\n', error: 'l.yaml:3:22: pools.p.load.adapter: adapter generic reads the names in metrics: set at least one of metrics.queued, metrics.running, metrics.kvCache' },
    { body: '    load: { interval: 2s, staleAfter: 1s }\n', error: 'l.yaml:3:39: pools.p.load.staleAfter: staleAfter (1000ms) must be longer than interval (2000ms), or every signal would be stale before the next scrape' },
    { body: '    load: { interval: 200 }\n', error: 'l.yaml:3:23: pools.p.load.interval: a bare number is not a duration' },
    { body: '    load: { adapter: vlm }\n', error: "l.yaml:3:22: pools.p.load.adapter: must be one of vllm, tgi, triton, sglang, generic, none (got \"vlm\"), did you mean 'vllm'?" },
    { body: '    load: { metrics: { queued: "bad name" } }\n', error: 'pools.p.load.metrics.queued' },
    { body: '    balance: load_aware\n', error: 'must be one of round-robin, random, least-request, load-aware' },
  ])('rejects $body', ({ body, error }) => {
    const found = errors(body);
    expect(found.some((e) => e.includes(error)), found.join('\n')).toBe(true);
  });
});

// What each model server calls its queue, its running requests and its KV-cache use, and how its series add up into
// one ServerLoad. An adapter is data, not code: the generic adapter is the same thing with names from the config.
//
// Aggregation across series: a server exports one series per model (Triton, a multi-model vLLM) or per engine (vLLM
// data parallel, label `engine`). Counts add up (requests waiting anywhere in the server wait); a fraction such as KV
// use is averaged (each engine has its own cache, and the server spreads requests over its engines).
import type { ServerLoad } from './types.js';
import type { PromSample } from './prom-text.js';

export type AdapterName = 'vllm' | 'tgi' | 'triton' | 'sglang' | 'generic';

/** One ServerLoad field: the metric names that carry it, the first one present wins (new name, then the old one). */
export interface SignalSource {
  readonly metrics: readonly string[];
  readonly aggregate: 'sum' | 'mean' | 'max';
  /** Divide by this (a server that exports percent 0-100 for KV use: 100). */
  readonly scale: number;
}

export interface AdapterSpec {
  readonly name: AdapterName;
  readonly queued: SignalSource | null;
  readonly running: SignalSource | null;
  readonly kvUsage: SignalSource | null;
  /** Only series with these label values count (e.g. { model: "llama" } on a multi-model Triton); {} = all. */
  readonly labels: Readonly<Record<string, string>>;
  /** Default port of the metrics endpoint when it is not the serving port (Triton: 8002); null = the backend's own. */
  readonly metricsPort: number | null;
}

const count = (...metrics: string[]): SignalSource => ({ metrics, aggregate: 'sum', scale: 1 });
const fraction = (...metrics: string[]): SignalSource => ({ metrics, aggregate: 'mean', scale: 1 });

/**
 * The built-in adapters. Sources of the names (fixtures in test/signals/fixtures cite each):
 * vLLM vllm/v1/metrics/loggers.py (kv_cache_usage_perc since v0.10, gpu_cache_usage_perc before and deprecated);
 * TGI docs/source/reference/metrics.md; Triton docs/user_guide/metrics.md (pending request count, per model and
 * version, on port 8002); SGLang docs/references/production_metrics.md (token_usage: the share of the token pool in use,
 * its KV cache).
 */
export const ADAPTERS: Readonly<Record<Exclude<AdapterName, 'generic'>, AdapterSpec>> = {
  vllm: {
    name: 'vllm',
    queued: count('vllm:num_requests_waiting'),
    running: count('vllm:num_requests_running'),
    kvUsage: fraction('vllm:kv_cache_usage_perc', 'vllm:gpu_cache_usage_perc'),
    labels: {},
    metricsPort: null,
  },
  tgi: {
    name: 'tgi',
    queued: count('tgi_queue_size'),
    running: count('tgi_batch_current_size'),
    kvUsage: null,
    labels: {},
    metricsPort: null,
  },
  triton: {
    name: 'triton',
    queued: count('nv_inference_pending_request_count'),
    running: null,
    kvUsage: null,
    labels: {},
    metricsPort: 8002,
  },
  sglang: {
    name: 'sglang',
    queued: count('sglang:num_queue_reqs'),
    running: count('sglang:num_running_reqs'),
    kvUsage: fraction('sglang:token_usage'),
    labels: {},
    metricsPort: null,
  },
};

/** Every metric name the adapter reads: the parser skips the rest unread. */
export function wantedMetrics(spec: AdapterSpec): Set<string> {
  const out = new Set<string>();
  for (const s of [spec.queued, spec.running, spec.kvUsage]) for (const m of s?.metrics ?? []) out.add(m);
  return out;
}

/** Collects the samples of one scrape and reduces them to a ServerLoad (without `at`, which the scraper stamps). */
export class LoadReader {
  readonly #spec: AdapterSpec;
  readonly #seen = new Map<string, number[]>();

  constructor(spec: AdapterSpec) {
    this.#spec = spec;
  }

  add(s: PromSample): void {
    for (const [k, v] of Object.entries(this.#spec.labels)) if (s.labels[k] !== v) return;
    let values = this.#seen.get(s.name);
    if (values === undefined) this.#seen.set(s.name, (values = []));
    values.push(s.value);
  }

  result(): Omit<ServerLoad, 'at'> {
    const queued = this.#read(this.#spec.queued);
    const running = this.#read(this.#spec.running);
    const kv = this.#read(this.#spec.kvUsage);
    return {
      ...(queued === undefined ? {} : { queued }),
      ...(running === undefined ? {} : { running }),
      ...(kv === undefined ? {} : { kvUsage: Math.min(kv, 1) }),
    };
  }

  /** The first named metric with at least one usable (finite, not negative) value, aggregated; undefined when none. */
  #read(source: SignalSource | null): number | undefined {
    if (source === null) return undefined;
    for (const name of source.metrics) {
      const values = (this.#seen.get(name) ?? []).filter((v) => Number.isFinite(v) && v >= 0);
      if (values.length === 0) continue;
      const sum = values.reduce((a, b) => a + b, 0);
      const v = source.aggregate === 'sum' ? sum : source.aggregate === 'mean' ? sum / values.length : Math.max(...values);
      return v / source.scale;
    }
    return undefined;
  }
}

// Scrapes one backend's metrics every interval while it is READY and hands the result to the backend (Backend.
// setServerLoad), where the picker reads it until it is older than load.staleAfter. Runs where the probes run: in the
// single process, or in the owner with `workers: N` (the routing view carries the load to the workers).
//
// A scrape never moves health state: a model server whose /metrics is slow or broken still serves inference, and
// readiness is the probes' verdict. A failure is counted (infergate_load_scrapes_total{result}) and logged once per run
// of failures; the last good signal stays until it is stale, then local in-flight and latency decide alone.
import { Pool, type Dispatcher } from 'undici';
import type { Backend } from '../backends/backend.js';
import { tlsOptions } from '../backends/upstream.js';
import type { Clock } from '../clock.js';
import type { ScrapeConfig, UpstreamTlsConfig } from '../config/types.js';
import type { Logger } from '../observe/log.js';
import { PeriodicTask } from '../schedule/periodic-task.js';
import { scrapeLoad, type ScrapeFailure } from './scrape.js';

/** What scrapes count (observe/metrics.ts implements it). */
export interface LoadStats {
  scrape(b: Backend, result: 'ok' | ScrapeFailure): void;
}

export interface ScraperDeps {
  clock: Clock;
  random: () => number;
  log: Logger;
  stats: LoadStats;
  /** The pool's TLS settings for https:// backends. */
  tls: UpstreamTlsConfig | null;
  /** Tests inject one; by default each scraper keeps one keep-alive HTTP/1.1 connection to its metrics origin. */
  dispatcher?: Dispatcher;
  /** A scrape was stored: the pool may release requests held for overload (Cluster.loadChanged). */
  loadChanged?: () => void;
}

/** Spread of the scrape interval (+-10%), so that a pool's scrapes do not fire in lockstep. */
const JITTER = 0.1;

/** The metrics endpoint of a backend: its own origin, or the same host on `port` (Triton's 8002). */
export function metricsUrl(origin: string, cfg: Pick<ScrapeConfig, 'path' | 'port'>): string {
  const url = new URL(origin);
  if (cfg.port !== null) url.port = String(cfg.port);
  return `${url.origin}${cfg.path}`;
}

export class LoadScraper {
  readonly #backend: Backend;
  readonly #cfg: ScrapeConfig;
  readonly #deps: ScraperDeps;
  readonly #url: string;
  readonly #task: PeriodicTask;
  /** Metrics endpoints speak HTTP/1.1 (prometheus_client, Triton's metrics port), whatever the pool's protocol. */
  readonly #dispatcher: Dispatcher;
  readonly #ownDispatcher: boolean;
  /** A run of failures is logged once, at its start. */
  #failing = false;

  constructor(backend: Backend, cfg: ScrapeConfig, deps: ScraperDeps) {
    this.#backend = backend;
    this.#cfg = cfg;
    this.#deps = deps;
    this.#url = metricsUrl(backend.origin, cfg);
    this.#ownDispatcher = deps.dispatcher === undefined;
    this.#dispatcher = deps.dispatcher ?? new Pool(new URL(this.#url).origin, { connections: 1, pipelining: 1, connect: tlsOptions(deps.tls) });
    this.#task = new PeriodicTask(cfg.intervalMs, JITTER, { clock: deps.clock, random: deps.random }, () => this.#tick());
  }

  get url(): string {
    return this.#url;
  }

  start(): void {
    this.#task.start();
  }

  stop(): void {
    this.#task.stop();
    if (this.#ownDispatcher) void this.#dispatcher.close().catch(() => undefined);
  }

  async #tick(): Promise<void> {
    const b = this.#backend;
    // Only READY backends: the others take no traffic, and a loading model server may not serve /metrics yet.
    if (!b.routable()) return;
    const r = await scrapeLoad({ url: this.#url, spec: this.#cfg.adapter, timeoutMs: this.#cfg.timeoutMs, maxBytes: this.#cfg.maxBodyBytes }, { clock: this.#deps.clock, dispatcher: this.#dispatcher });
    if (!this.#task.started) return;
    if (r.ok) {
      b.setServerLoad(r.load);
      this.#deps.stats.scrape(b, 'ok');
      this.#deps.loadChanged?.();
      if (this.#failing) {
        this.#failing = false;
        this.#deps.log.info({ backend: b.id, pool: b.pool, url: this.#url }, 'load signals scraped again');
      }
      return;
    }
    this.#deps.stats.scrape(b, r.reason);
    // A failed scrape may have let the last signal go stale: requests held on it may go now.
    this.#deps.loadChanged?.();
    if (!this.#failing) {
      this.#failing = true;
      this.#deps.log.warn({ backend: b.id, pool: b.pool, url: this.#url, reason: r.reason, error: r.message }, 'load signals could not be scraped: the picker uses in-flight and latency for this backend once its last signal is stale (health state unchanged)');
    }
  }
}

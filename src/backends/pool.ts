// A pool at run time: its groups of backends, the balancer that picks among them, and its retry budget.
import type { Balancer } from '../balancer/balancer.js';
import type { PoolConfig } from '../config/types.js';
import type { PoolStats } from '../observe/metrics.js';
import type { Backend } from './backend.js';
import type { WaitQueue } from './queue.js';

export interface Group {
  readonly name: string;
  weight: number;
  readonly backends: Backend[];
}

/** READY and below its maxConcurrent. */
const accepts = (b: Backend): boolean => b.acceptsRequest();

export class BackendPool {
  readonly name: string;
  readonly config: PoolConfig;
  readonly groups: Group[];
  readonly backends: Backend[];
  readonly stats: PoolStats;
  /** Where requests wait while nothing can take them; null = answer 503 at once. */
  readonly queue: WaitQueue | null;
  readonly #balancer: Balancer<Backend>;
  readonly #random: () => number;
  /** Requests in flight and retries in flight, for the retry budget. */
  active = 0;
  activeRetries = 0;

  constructor(config: PoolConfig, groups: Group[], deps: { balancer: Balancer<Backend>; random: () => number; stats: PoolStats; queue: WaitQueue | null }) {
    this.name = config.name;
    this.config = config;
    this.groups = groups;
    this.backends = groups.flatMap((g) => g.backends);
    this.stats = deps.stats;
    this.queue = deps.queue;
    this.#balancer = deps.balancer;
    this.#random = deps.random;
  }

  hasReady(): boolean {
    for (const b of this.backends) if (b.routable()) return true;
    return false;
  }

  /** Some backend could take one more request right now. */
  hasCapacity(): boolean {
    for (const b of this.backends) if (b.acceptsRequest()) return true;
    return false;
  }

  readonly #hasCapacity = (): boolean => this.hasCapacity();

  /** Capacity may have appeared (a backend became READY, a slot freed): hand it to waiting requests. */
  wake(): void {
    const q = this.queue;
    if (q !== null && q.length > 0) q.wake(this.#hasCapacity);
  }

  /** Pick a READY backend, never one in `exclude` (backends this request already tried). */
  pick(exclude: readonly Backend[] | null): Backend | undefined {
    const group = this.#pickGroup(exclude);
    if (!group) return undefined;
    if (exclude === null || exclude.length === 0) return this.#balancer.pick(group.backends, accepts);
    return this.#balancer.pick(group.backends, (b) => b.acceptsRequest() && !exclude.includes(b));
  }

  /** Weighted choice among groups that have an eligible backend; with one group, no work at all. */
  #pickGroup(exclude: readonly Backend[] | null): Group | undefined {
    const groups = this.groups;
    if (groups.length === 1) return groups[0];
    let total = 0;
    let fallback: Group | undefined;
    for (const g of groups) {
      if (!hasEligible(g, exclude)) continue;
      fallback ??= g;
      total += g.weight;
    }
    if (total <= 0) return fallback;
    let r = this.#random() * total;
    for (const g of groups) {
      if (g.weight <= 0 || !hasEligible(g, exclude)) continue;
      r -= g.weight;
      if (r < 0) return g;
    }
    return fallback;
  }

  /** Envoy-style retry budget: retries in flight stay under a share of requests in flight. */
  retryAllowed(): boolean {
    const r = this.config.retry;
    const budget = Math.max(r.minRetryConcurrency, (this.active * r.budgetPercent) / 100);
    return this.activeRetries < budget;
  }
}

function hasEligible(g: Group, exclude: readonly Backend[] | null): boolean {
  for (const b of g.backends) if (b.acceptsRequest() && (exclude === null || !exclude.includes(b))) return true;
  return false;
}

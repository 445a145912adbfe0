// A pool at run time: its groups of backends, the balancer that picks among them, and its retry budget.
import type { Balancer } from '../balancer/balancer.js';
import type { PoolConfig } from '../config/types.js';
import type { PoolStats } from '../observe/metrics.js';
import type { Backend } from './backend.js';
import type { WaitQueue } from './queue.js';

export interface Group {
  readonly name: string;
  /** Share of the pool's traffic; a rollout changes it live. */
  weight: number;
  readonly backends: Backend[];
}

/** The group a request is meant for; a pinned request (tester header) never falls back to another group. */
export interface GroupChoice {
  readonly group: Group;
  readonly pinned: boolean;
}

/** What one attempt said about its backend (classification in proxy/failures.ts). */
export type AttemptOutcome = 'success' | 'server-error' | 'gateway-error';

/** Passive health: told about every attempt (outlier/detector.ts). */
export interface OutcomeSink {
  report(backend: Backend, outcome: AttemptOutcome): void;
}

/** Canary analysis: told about every finished request of a group (rollout/controller.ts). */
export interface GroupRecorder {
  record(group: string, ok: boolean, latencyMs: number): void;
}

/** Chooses the group of a request (pin header, sticky hash, weights): routing/groups.ts. */
export interface GroupChooser {
  choose(req: { headers: Record<string, string | string[] | undefined>; url?: string | undefined }): GroupChoice;
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
  /** One balancer per group: round robin keeps per-group rotation state. */
  readonly #balancers: Map<Group, Balancer<Backend>>;
  readonly #random: () => number;
  /** Chooses a request's group; set by the app (routing/ builds it). */
  chooser: GroupChooser | null = null;
  /** Requests whose group had no backend able to take them and went to another group. */
  onFallback: ((from: Group) => void) | null = null;
  outliers: OutcomeSink | null = null;
  /** A backend answered a retryable status (503): its readiness is worth probing now, not at the next interval. */
  onUnavailable: ((backend: Backend) => void) | null = null;
  rollout: GroupRecorder | null = null;
  /** Requests in flight and retries in flight, for the retry budget. */
  active = 0;
  activeRetries = 0;

  constructor(config: PoolConfig, groups: Group[], deps: { createBalancer: () => Balancer<Backend>; random: () => number; stats: PoolStats; queue: WaitQueue | null }) {
    this.name = config.name;
    this.config = config;
    this.groups = groups;
    this.backends = groups.flatMap((g) => g.backends);
    this.stats = deps.stats;
    this.queue = deps.queue;
    this.#balancers = new Map(groups.map((g) => [g, deps.createBalancer()]));
    this.#random = deps.random;
  }

  /** Discovery changed a group's members; in place, because the balancer and views hold these arrays. */
  replaceMembers(group: Group, members: Backend[]): void {
    group.backends.splice(0, group.backends.length, ...members);
    this.backends.splice(0, this.backends.length, ...this.groups.flatMap((g) => g.backends));
  }

  hasReady(): boolean {
    for (const b of this.backends) if (b.routable()) return true;
    return false;
  }

  /** Some backend could take one more request right now (READY, below maxConcurrent, weight above 0). */
  hasCapacity(): boolean {
    for (const b of this.backends) if (b.acceptsRequest() && b.effectiveWeight() > 0) return true;
    return false;
  }

  readonly #hasCapacity = (): boolean => this.hasCapacity();

  /** Capacity may have appeared (a backend became READY, a slot freed): hand it to waiting requests. */
  wake(): void {
    const q = this.queue;
    if (q !== null && q.length > 0) q.wake(this.#hasCapacity);
  }

  /**
   * Pick a backend that can take the request now, in its chosen group; never one in `exclude` (backends
   * this request already tried). When the group has none, another group with weight takes it (counted),
   * unless the request was pinned to its group.
   */
  pick(exclude: readonly Backend[] | null, choice: GroupChoice | null): Backend | undefined {
    const groups = this.groups;
    const group = choice?.group ?? groups[0]!;
    const found = this.#pickIn(group, exclude);
    if (found !== undefined || groups.length === 1 || choice?.pinned === true) return found;
    const other = this.#otherGroup(group, exclude);
    if (other === undefined) return undefined;
    this.onFallback?.(group);
    return this.#pickIn(other, exclude);
  }

  #pickIn(group: Group, exclude: readonly Backend[] | null): Backend | undefined {
    const balancer = this.#balancers.get(group)!;
    if (exclude === null || exclude.length === 0) return balancer.pick(group.backends, accepts);
    return balancer.pick(group.backends, (b) => b.acceptsRequest() && !exclude.includes(b));
  }

  /** Weighted choice among the other groups with weight that have an eligible backend. */
  #otherGroup(skip: Group, exclude: readonly Backend[] | null): Group | undefined {
    let total = 0;
    for (const g of this.groups) if (g !== skip && g.weight > 0 && hasEligible(g, exclude)) total += g.weight;
    if (total <= 0) return undefined;
    let r = this.#random() * total;
    let last: Group | undefined;
    for (const g of this.groups) {
      if (g === skip || g.weight <= 0 || !hasEligible(g, exclude)) continue;
      last = g;
      r -= g.weight;
      if (r < 0) return g;
    }
    return last;
  }

  /** Envoy-style retry budget: retries in flight stay under a share of requests in flight. */
  retryAllowed(): boolean {
    const r = this.config.retry;
    const budget = Math.max(r.minRetryConcurrency, (this.active * r.budgetPercent) / 100);
    return this.activeRetries < budget;
  }
}

function hasEligible(g: Group, exclude: readonly Backend[] | null): boolean {
  for (const b of g.backends) if (b.acceptsRequest() && b.effectiveWeight() > 0 && (exclude === null || !exclude.includes(b))) return true;
  return false;
}

// One pool at run time: its groups of backends and their balancers, the health sources that write each backend's
// flags, the wait queue, and the two calls the proxy makes — pick() a backend, report() what an attempt did.
import type { PrefixAffinity, AffinityOutcome } from '../affinity/prefix-affinity.js';
import type { Backend, StateChange } from '../backends/backend.js';
import type { WaitQueue, Waiter } from '../backends/queue.js';
import type { Balancer } from '../balancer/balancer.js';
import type { BackendConfig, PoolConfig } from '../config/types.js';
import type { PoolStats } from '../observe/metrics.js';
import { outcomeForStatus } from '../outlier/outcome.js';
import type { Detector, Outcome, OutlierView } from '../outlier/types.js';
import type { OverloadGuard } from '../overload/guard.js';
import { GroupSelector, type GroupChoice, type RequestKeys } from '../routing/groups.js';
import type { ClusterEvent, EventStream } from './events.js';

/** A group of backends: a name, a share of the pool's traffic (a rollout changes it live) and its members. */
export interface BackendGroup {
  readonly name: string;
  weight: number;
  readonly backends: Backend[];
}

/** A request as pick() sees it (the proxy's exchange implements it). */
export interface PickRequest extends RequestKeys, Waiter {
  /** The group chosen at the first pick; kept across retries and queueing (sticky users stay put). */
  choice: GroupChoice<BackendGroup> | null;
  /** Backends this request already tried: a retry goes elsewhere. */
  readonly tried: readonly Backend[] | null;
  /** May wait in the queue when nothing can take it now (not a WebSocket upgrade). */
  readonly mayQueue: boolean;
  /** Prefix affinity: the block hashes of the request's prompt (affinity/), or null / absent. */
  readonly prefix?: readonly number[] | null;
  /** Written by pick(): what prefix affinity did at the last pick (the access log, metrics). */
  affinity?: AffinityOutcome | null;
  /** Written by pick(): held because every backend was past its overload thresholds, or shed for it; else null. */
  overload?: 'held' | 'shed' | null;
  /** Written by pick(): when (the guard's clock, ms) the request was first held for overload; -1 when not held. */
  overloadedSince?: number;
}

/** The request waits in the pool's queue: onSlot() or onQueueTimeout() follows, unless cancelled. */
export class Queued {
  constructor(readonly cancel: () => void) {}
}

/** How an attempt failed, as the cluster reads it (proxy/failures.ts's FailureKind has this shape). */
export interface AttemptFailure {
  /** Stable code: `connect-refused` and `upstream-reset` say the process behind the address may have changed. */
  readonly code: string;
  readonly source: 'upstream' | 'downstream' | 'internal';
  /** What it says about the backend for outlier detection and the latency score. */
  readonly outcome: 'gateway-error' | null;
}

/** A waiting request that can go on waiting in the next configuration's cluster of its pool (proxy/exchange.ts). */
export interface Movable {
  moveTo(next: Cluster): void;
}

/** Why pick() found no backend (the proxy maps it to its failure table). */
export type PickRefusal = 'no-ready-backend' | 'queue-full' | 'overloaded';

/** The pool's retry budget as the proxy uses it (proxy/retry-budget.ts); the cluster only carries it. */
export interface RetryBudgetLike {
  requestStarted(): void;
  requestEnded(retried: boolean): void;
  allows(): boolean;
  retryStarted(): void;
}

/** The memory for request bodies read ahead (proxy/body-buffers.ts); the cluster only carries it, as the budget. */
export interface BodyBuffersLike {
  take(bytes: number): boolean;
  give(bytes: number): void;
}

/** One upstream attempt, as the proxy reports it. */
export interface Attempt {
  readonly backend: Backend;
  /** Response status; 0 while none. */
  readonly status: number;
  /** Request sent -> response head, ms; -1 while none. */
  readonly latencyMs: number;
  /**
   * A token stream (text/event-stream): its head says nothing of how long the first token takes (a vLLM server sends
   * it before queueing the request), so the backend's latency score is fed at the first body byte instead (forward.ts).
   */
  readonly latencyAtFirstByte?: boolean;
  /** Why the attempt failed, or null (a complete response, or still going). */
  readonly failure: AttemptFailure | null;
}

/**
 * `response`: the head arrived (outlier detectors eject on the failing response itself, latency feeds the EWMA);
 * `end`: the attempt is over, its backend slot is free (a failure counts against the backend, and every attempt
 * — retried ones too — counts in the canary analysis).
 */
export type AttemptPhase = 'response' | 'end';

/** Canary analysis: told about every attempt of a group (rollout/manager.ts). */
export interface GroupRecorder {
  record(group: string, ok: boolean, latencyMs: number): void;
}

/**
 * What drives a backend's health: its HealthController (probes, admission, warm-up) — or, in a worker process, the
 * owner, reached through workers/worker.ts — and what traffic asks of it.
 */
export interface HealthDriver {
  start(): void;
  stop(): void;
  /** Traffic suggests the process behind the address changed: hold it and verify it again. */
  reverify(reason: string): void;
  /** Probe now rather than at the next interval. */
  probeNow(): void;
  pushReady(): void;
  pushUnready(): void;
}

/** Where a pool's passive outcomes go: the outlier detector (outlier/detector.ts) or, in a worker, the owner. */
export interface OutlierSink {
  report(host: Backend, outcome: Outcome): void;
  setHosts(hosts: readonly Backend[]): void;
  /** Another replica ejected this backend (coordination/): eject it here too, for that long. */
  adopt?(host: Backend, detector: Detector, reason: string, durationMs: number, by: string): boolean;
  readonly windowMs: number;
  view(host: Backend): OutlierView;
}

/** A backend with what drives its probes, admission and warm-up. */
export interface Member {
  readonly backend: Backend;
  readonly controller: HealthDriver;
}

/**
 * Builds the members of a group (cluster/members.ts); `adopt`: take over the health of the backend with the same
 * id in the previous configuration (a reload), not for members discovery adds later.
 */
export type MemberFactory = (group: string, onChange: (c: StateChange) => void, adopt: boolean, onLoad?: () => void) => (config: BackendConfig) => Member;

export interface ClusterDeps {
  readonly groups: ReadonlyArray<{ readonly name: string; readonly weight: number; readonly backends: readonly BackendConfig[] }>;
  /** Groups with a rollout: laid out first for sticky hashing (routing/groups.ts). */
  readonly rolloutGroups: ReadonlySet<string>;
  readonly members: MemberFactory;
  readonly createBalancer: () => Balancer<Backend>;
  readonly random: () => number;
  readonly queue: WaitQueue | null;
  /** The pool's outlier detector (kept across reloads with the same settings), or null. */
  readonly outliers: OutlierSink | null;
  readonly rollout: GroupRecorder;
  readonly events: EventStream<ClusterEvent>;
  readonly stats: PoolStats;
  readonly budget: RetryBudgetLike;
  readonly bodyBuffers: BodyBuffersLike;
  /** The pool's prefix affinity (kept across reloads with the same settings), or null / absent when off. */
  readonly affinity?: PrefixAffinity | null;
  /** The pool's overload policy, or null / absent when off. */
  readonly overload?: OverloadGuard | null;
}

export class Cluster {
  readonly name: string;
  readonly config: PoolConfig;
  readonly groups: BackendGroup[];
  /** Every member of every group, in group order. */
  readonly backends: Backend[] = [];
  readonly queue: WaitQueue | null;
  /** The proxy's per-pool retry budget, carried here because the router hands the proxy a cluster. */
  readonly budget: RetryBudgetLike;
  /** The proxy's per-pool memory for request bodies read whole before a backend is picked. */
  readonly bodyBuffers: BodyBuffersLike;
  readonly stats: PoolStats;
  /** Prefix affinity, or null when off: the proxy asks it for a request's key. */
  readonly affinity: PrefixAffinity | null;
  /** The overload policy, or null when off. */
  readonly overload: OverloadGuard | null;
  readonly #balancers: Map<BackendGroup, Balancer<Backend>>;
  readonly #selector: GroupSelector<BackendGroup>;
  readonly #controllers = new Map<Backend, HealthDriver>();
  readonly #outliers: OutlierSink | null;
  readonly #rollout: GroupRecorder;
  readonly #events: EventStream<ClusterEvent>;
  readonly #members: MemberFactory;
  #running = false;
  #unsubscribe: (() => void) | null = null;

  constructor(config: PoolConfig, deps: ClusterDeps) {
    this.name = config.name;
    this.config = config;
    this.queue = deps.queue;
    this.budget = deps.budget;
    this.bodyBuffers = deps.bodyBuffers;
    this.stats = deps.stats;
    this.affinity = deps.affinity ?? null;
    this.overload = deps.overload ?? null;
    this.#outliers = deps.outliers;
    this.#rollout = deps.rollout;
    this.#events = deps.events;
    this.#members = deps.members;
    this.groups = deps.groups.map((g) => {
      const make = this.#members(g.name, this.#onChange, true, this.#onLoad);
      const group: BackendGroup = { name: g.name, weight: g.weight, backends: [] };
      for (const bc of g.backends) group.backends.push(this.#adopt(make(bc)));
      return group;
    });
    this.#indexBackends();
    // Outlier detection turned off by a reload: an ejection carried over in a backend's record has nobody to end it.
    if (this.#outliers === null) for (const b of this.backends) if (b.isEjected()) b.uneject('outlier detection turned off');
    this.#balancers = new Map(this.groups.map((g) => [g, deps.createBalancer()]));
    this.#selector = new GroupSelector(this.groups, deps.rolloutGroups, config.sticky, config.pin, deps.random);
  }

  // ---- the proxy's two calls ----

  /**
   * A backend that takes the request now (counted in flight until report('end')), in its group — another group
   * with weight when its own has none, unless pinned; else the request waits (Queued) or is refused.
   */
  pick(r: PickRequest): Backend | Queued | PickRefusal {
    const choice = (r.choice ??= this.#selector.choose(r));
    let backend = this.#pickIn(choice.group, r);
    if (backend === undefined && this.groups.length > 1 && !choice.pinned) {
      const tried = r.tried;
      const other = this.#selector.fallback(choice.group, (g) => this.#hasEligible(g, tried));
      if (other !== undefined) {
        this.#events.publish({ type: 'group-fallback', pool: this.name, group: choice.group.name });
        backend = this.#pickIn(other, r);
      }
    }
    const guard = this.overload;
    if (backend !== undefined) {
      backend.inflight++;
      backend.requests++;
      if (r.prefix) this.affinity?.record(backend.id, r.prefix);
      guard?.endHold(r);
      return backend;
    }
    const queue = this.queue;
    // Overloaded: a backend could take it but every one is past its thresholds. Shed what the priority header says,
    // and what cannot wait; the rest waits for a backend to drop below them (the queue is woken by ends and scrapes).
    const overloaded = guard !== null && (choice.pinned ? this.#anyAccepts(choice.group.backends, r.tried) : this.groups.some((g) => (g === choice.group || g.weight > 0) && this.#anyAccepts(g.backends, r.tried)));
    if (overloaded) {
      const priority = guard.shedPriority(r.headers);
      if (priority !== null || !r.mayQueue || queue === null) {
        guard.shed(priority ?? 'cannot-wait');
        r.overload = 'shed';
        return 'overloaded';
      }
    }
    // Wait only if a backend this request has not tried may take it later (one held for re-verification is back
    // within milliseconds); a retry that has tried them all gets its answer now.
    if (!r.mayQueue || queue === null || (r.tried !== null && triedAll(this.backends, r.tried))) return 'no-ready-backend';
    if (!queue.enqueue(r)) return 'queue-full';
    if (overloaded && (r.overloadedSince === undefined || r.overloadedSince < 0)) {
      r.overloadedSince = guard.now();
      r.overload = 'held';
      guard.held();
    }
    return new Queued(() => queue.remove(r));
  }

  /** What an attempt did: feeds the backend's counters and EWMA, outlier detection and the canary analysis. */
  report(phase: AttemptPhase, a: Attempt): void {
    const b = a.backend;
    if (phase === 'response') {
      // Only answers the server really produced feed the latency score: a 5xx or 429 in 2 ms is a failure (a slow
      // sample), not speed, and a 4xx (404 model not found, 400) says nothing of how fast the server is.
      if (a.status >= 500 || a.status === 429) b.observeFailure();
      else if (a.status < 400 && a.latencyAtFirstByte !== true) b.observeLatency(a.latencyMs);
      b.stats.upstreamSeconds.observe(a.latencyMs / 1000);
      this.#outliers?.report(b, outcomeForStatus(a.status));
      // A model server answers 503 while it loads or reloads: is it still the process that was admitted?
      if (a.status === 503) this.#signal(b, 'it answered 503');
      else if (a.status >= 500 && this.config.retry.onStatus.has(a.status)) this.#controllers.get(b)?.probeNow();
      return;
    }
    b.inflight--;
    // A freed slot is capacity for a request waiting behind maxConcurrent (or the connection limit).
    this.#wake(b);
    const failure = a.failure;
    if (failure === null) {
      if (a.status >= 500) b.errors++;
      if (a.status > 0) this.#rollout.record(b.group, a.status < 500, a.latencyMs);
    } else if (failure.source === 'upstream') {
      // A refused connection is proof the process is gone; a reset, a strong hint: one is enough to stop sending.
      if (failure.code === 'connect-refused') this.#signal(b, 'connection refused');
      else if (failure.code === 'upstream-reset') this.#signal(b, 'connection reset');
      b.errors++;
      if (failure.outcome !== null) {
        b.observeFailure();
        // One attempt is one verdict: a gateway-error status (a retried 503) was reported with its head already.
        if (outcomeForStatus(a.status) !== 'gateway-error') this.#outliers?.report(b, failure.outcome);
      }
      this.#rollout.record(b.group, false, -1);
    }
  }

  // ---- what worker processes saw (workers/owner.ts): fed in as this process's own traffic would be ----

  /** Outcomes of attempts on `b`, in order, as runs. */
  outcomesFromWorker(b: Backend, runs: ReadonlyArray<readonly [Outcome, number]>): void {
    const d = this.#outliers;
    if (d === null) return;
    for (const [outcome, n] of runs) for (let i = 0; i < n; i++) d.report(b, outcome);
  }

  /** Attempts of a group for the canary analysis: latencies of good ones and of failed ones (-1: no answer). */
  attemptsFromWorker(group: string, ok: readonly number[], failed: readonly number[]): void {
    for (const ms of ok) this.#rollout.record(group, true, ms);
    for (const ms of failed) this.#rollout.record(group, false, ms);
  }

  /** A worker's traffic suggests `b` changed (refused, reset, a 503), or asks for a probe now. */
  signalFromWorker(b: Backend, what: 'reverify' | 'probe-now', reason: string): void {
    if (what === 'reverify') this.#signal(b, reason);
    else this.#controllers.get(b)?.probeNow();
  }

  // ---- health sources other than the probes (which write through their controllers) ----

  /** The model server says its model loaded (admission and warm-up still run) or is unloading. */
  push(b: Backend, ready: boolean): void {
    const c = this.#controllers.get(b);
    if (ready) c?.pushReady();
    else c?.pushUnready();
  }

  /** Operator: take out of rotation (in-flight requests finish), or back in. */
  operator(b: Backend, drain: boolean): void {
    if (drain) b.set('operator', { type: 'drain' }, 'drained by operator');
    else b.set('operator', { type: 'undrain' }, 'enabled by operator');
  }

  /**
   * Discovery says these origins serve the group: new ones join LOADING (and earn READY like any backend), gone
   * ones leave routing at once and close once their in-flight requests finish.
   */
  setMembers(groupName: string, origins: readonly string[], configFor: (origin: string) => BackendConfig, why: string): void {
    const group = this.groups.find((g) => g.name === groupName);
    if (group === undefined) return;
    const wanted = new Set(origins);
    const keep = group.backends.filter((b) => wanted.has(b.origin));
    const gone = group.backends.filter((b) => !wanted.has(b.origin));
    const have = new Set(keep.map((b) => b.origin));
    const make = this.#members(group.name, this.#onChange, false, this.#onLoad);
    const fresh = origins.filter((o) => !have.has(o)).map((o) => this.#adopt(make(configFor(o))));
    if (fresh.length === 0 && gone.length === 0) return;
    // In place: the balancer and the admin views hold these arrays.
    group.backends.splice(0, group.backends.length, ...keep, ...fresh);
    this.#indexBackends();
    if (this.#running) for (const b of fresh) this.#controllers.get(b)!.start();
    for (const b of gone) {
      this.#controllers.get(b)?.stop();
      this.#controllers.delete(b);
      b.set('discovery', { type: 'drain' }, why);
      void b.close();
    }
    this.#events.publish({ type: 'members', pool: this.name, group: group.name, added: fresh, removed: gone, reason: why });
  }

  /** A backend's server load changed (a scrape, signals/): a request held for overload may go now. */
  loadChanged(): void {
    if (this.overload !== null) this.#wake();
  }

  /** Given to the members' load scrapers (cluster/members.ts): each stored scrape may release held requests. */
  readonly #onLoad = (): void => this.loadChanged();

  // ---- reads ----

  /** Some backend takes new requests (READY). */
  hasReady(): boolean {
    for (const b of this.backends) if (b.routable()) return true;
    return false;
  }

  /** An ejection another replica decided (coordination/); false without outlier detection here or for an unknown backend. */
  adoptEjection(b: Backend, detector: Detector, reason: string, durationMs: number, by: string): boolean {
    return this.#outliers?.adopt?.(b, detector, reason, durationMs, by) ?? false;
  }

  /** The outlier detector's view of a backend (recent traffic, ejection), or null when detection is off. */
  outlierView(b: Backend): (OutlierView & { windowMs: number }) | null {
    const d = this.#outliers;
    return d === null ? null : { ...d.view(b), windowMs: d.windowMs };
  }

  group(name: string): BackendGroup | undefined {
    return this.groups.find((g) => g.name === name);
  }

  // ---- life ----

  start(): void {
    this.#running = true;
    for (const c of this.#controllers.values()) c.start();
    // The end of an ejection (whatever the visible state) calls for a readiness probe now, not at the next interval.
    this.#unsubscribe = this.#events.subscribe((e) => {
      if (e.type === 'ejection-ended') this.#controllers.get(e.backend)?.probeNow();
    });
  }

  /**
   * Stop probing. Waiting requests go on waiting in `successor` (the same pool in the next configuration, a reload) —
   * held for overload or for a READY backend, they must not all get a 503 because the configuration changed — or get
   * their answer now (shutdown, or a pool the reload removed). `close` also closes the connection pools once idle.
   */
  stop(close: boolean, successor?: Cluster): void {
    this.#running = false;
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    for (const c of this.#controllers.values()) c.stop();
    for (const w of this.queue?.takeAll() ?? []) {
      const movable = w as Partial<Movable>;
      if (successor !== undefined && typeof movable.moveTo === 'function') movable.moveTo(successor);
      else w.onQueueTimeout();
    }
    if (close) for (const b of this.backends) void b.close();
  }

  readonly #onChange = (c: StateChange): void => {
    // A backend that became READY is capacity for requests waiting in the queue.
    if (c.to === 'READY') this.#wake();
    this.#events.publish({ type: 'state', backend: c.backend, source: c.source, from: c.from, to: c.to, reason: c.reason });
  };

  #adopt(m: Member): Backend {
    const b = m.backend;
    this.#controllers.set(b, m.controller);
    // A pooled connection closed by the backend (our idle timeout is shorter than servers' own, so a healthy server
    // does not do this): the process may be shutting down, and the next new connection may reach another one.
    b.dispatcher.on('disconnect', (_origin, _targets, err) => {
      if (closedByPeer(err)) this.#signal(b, 'the backend closed a pooled connection');
    });
    return b;
  }

  /** Something suggests the process behind a READY backend changed: hold it until it is verified again. */
  #signal(b: Backend, reason: string): void {
    if (b.routable()) this.#controllers.get(b)?.reverify(reason);
  }

  #indexBackends(): void {
    this.backends.splice(0, this.backends.length, ...this.groups.flatMap((g) => g.backends));
    this.#outliers?.setHosts(this.backends);
    this.affinity?.retain(new Set(this.backends.map((b) => b.id)));
  }

  #pickIn(group: BackendGroup, r: PickRequest): Backend | undefined {
    const balancer = this.#balancers.get(group)!;
    const exclude = r.tried;
    const eligible = exclude === null || exclude.length === 0 ? this.#accepts : (b: Backend) => this.#accepts(b) && !exclude.includes(b);
    const affinity = this.affinity;
    if (affinity !== null && r.prefix) {
      const c = affinity.choose(group.backends, eligible, r.prefix);
      r.affinity = c.outcome;
      if (c.backend !== undefined) return c.backend;
    }
    return balancer.pick(group.backends, eligible);
  }

  /** READY, below its maxConcurrent, with a free connection slot, and not past its overload thresholds. */
  readonly #accepts = (b: Backend): boolean => b.acceptsRequest() && (this.overload === null || !this.overload.full(b));

  /** Takes one more request now, and has weight. */
  readonly #hasRoom = (b: Backend): boolean => this.#accepts(b) && b.effectiveWeight() > 0;

  #hasEligible(g: BackendGroup, exclude: readonly Backend[] | null): boolean {
    for (const b of g.backends) if (this.#hasRoom(b) && (exclude === null || !exclude.includes(b))) return true;
    return false;
  }

  /**
   * Some backend of `backends` not yet tried would take the request but for the overload thresholds. Only groups the
   * request could go to count (its own, and those with weight): a READY backend of a weight-0 group (a rolled-back
   * canary, a standby) must not turn a wait for maxConcurrent into "overloaded".
   */
  #anyAccepts(backends: readonly Backend[], exclude: readonly Backend[] | null): boolean {
    for (const b of backends) if (b.acceptsRequest() && b.effectiveWeight() > 0 && (exclude === null || !exclude.includes(b))) return true;
    return false;
  }

  readonly #hasCapacity = (): boolean => {
    for (const b of this.backends) if (this.#hasRoom(b)) return true;
    return false;
  };

  /**
   * `freed`: the backend whose request just ended. Its slot is the only capacity that end made, so while it has room
   * the queue is handed slots on its word alone — O(1) per response however many backends the pool has (the scan of
   * every backend ran on each response end of a saturated pool). Capacity appearing anywhere else (a backend READY
   * again) wakes the queue through #onChange, with the scan.
   */
  #wake(freed?: Backend): void {
    const q = this.queue;
    if (q === null || q.length === 0) return;
    const room = this.#hasRoom;
    q.wake(freed !== undefined && room(freed) ? () => room(freed) : this.#hasCapacity);
  }
}

/** The peer closed the socket (not our idle timeout, not our own close). */
function closedByPeer(err: Error | null | undefined): boolean {
  const code = (err as { code?: string } | null | undefined)?.code;
  return code === 'UND_ERR_SOCKET' || code === 'ECONNRESET';
}

/**
 * Every backend of the pool was tried already. `tried` holds at most retry.attempts backends: with fewer than the pool
 * has, some backend was not tried, known without looking (it was backends × tried `includes` calls per refused retry).
 */
function triedAll(backends: readonly Backend[], tried: readonly Backend[]): boolean {
  if (tried.length < backends.length) return false;
  for (const b of backends) if (!tried.includes(b)) return false;
  return true;
}

// Builds a Cluster from YAML with real Backends, stub health controllers and the manual clock: pick()/report() in isolation.
import { PrefixAffinity } from '../../src/affinity/prefix-affinity.js';
import type { Backend } from '../../src/backends/backend.js';
import { WaitQueue } from '../../src/backends/queue.js';
import { createBalancer } from '../../src/balancer/index.js';
import { Cluster, type GroupRecorder, type PickRequest } from '../../src/cluster/cluster.js';
import { EventStream, type ClusterEvent } from '../../src/cluster/events.js';
import { memberFactory } from '../../src/cluster/members.js';
import type { HealthController } from '../../src/health/controller.js';
import { Metrics } from '../../src/observe/metrics.js';
import { OutlierDetector } from '../../src/outlier/detector.js';
import { OverloadGuard, type OverloadStats } from '../../src/overload/guard.js';
import { BodyBuffers } from '../../src/proxy/body-buffers.js';
import { RetryBudget } from '../../src/proxy/retry-budget.js';
import pino from 'pino';
import { ok } from '../config/helpers.js';
import { ManualClock, seededRandom } from '../helpers/manual-clock.js';

export interface Recorded {
  group: string;
  ok: boolean;
  latencyMs: number;
}

/**
 * A cluster of the only pool of `yamlText`; every backend starts LOADING (controllers are stubs that count probeNow).
 * `rollout`: where attempts go besides `recorded` (a RolloutManager's recorder); `clock`: share one with other parts.
 */
export function cluster(yamlText: string, opts: { rollout?: GroupRecorder; clock?: ManualClock; overloadStats?: OverloadStats } = {}) {
  const config = ok(yamlText);
  const pc = [...config.pools.values()][0]!;
  const clock = opts.clock ?? new ManualClock();
  const random = seededRandom(7);
  const metrics = new Metrics('test', { defaultMetrics: false });
  const events = new EventStream<ClusterEvent>();
  const seen: ClusterEvent[] = [];
  events.subscribe((e) => seen.push(e));
  const recorded: Recorded[] = [];
  const rollout: GroupRecorder = {
    record: (group, ok, latencyMs) => {
      recorded.push({ group, ok, latencyMs });
      opts.rollout?.record(group, ok, latencyMs);
    },
  };
  const probed: string[] = [];
  const reverified: string[] = [];
  const real = memberFactory(pc, {
    clock, random, log: pino({ level: 'silent' }), probeDispatcher: undefined as never,
    healthStats: metrics.healthStats(), bindStats: (p, g, b) => metrics.bindBackend(p, g, b), previous: () => undefined,
  });
  const members: typeof real = (group, onChange, adopt) => {
    const make = real(group, onChange, adopt);
    return (bc) => {
      const { backend } = make(bc);
      const controller = { start() {}, stop() {}, probeNow: () => probed.push(backend.id), reverify: (reason: string) => reverified.push(`${backend.id}: ${reason}`), pushReady() {}, pushUnready() {} } as unknown as HealthController;
      return { backend, controller };
    };
  };
  const outliers = pc.outlier === null ? null : new OutlierDetector<Backend>(pc.outlier, { clock, onEvent: (e) => { if (e.type === 'ejection-ended') events.publish({ type: 'ejection-ended', backend: e.host, reason: e.reason }); } });
  const c = new Cluster(pc, {
    groups: pc.groups.map((g) => ({ name: g.name, weight: g.weight, backends: g.backends })),
    rolloutGroups: new Set(pc.groups.filter((g) => g.rollout !== null).map((g) => g.name)),
    members,
    createBalancer: () => createBalancer<Backend>(pc.balance, { random }),
    random,
    queue: pc.queue === null ? null : new WaitQueue(pc.queue.max, pc.queue.timeoutMs, clock),
    outliers,
    rollout,
    events,
    stats: metrics.bindPool(pc.name),
    budget: new RetryBudget(pc.retry),
    bodyBuffers: new BodyBuffers(pc.requestBody.bufferTotalBytes),
    affinity: pc.affinity === null ? null : new PrefixAffinity(pc.affinity),
    overload: pc.overload === null ? null : new OverloadGuard(pc.overload, () => clock.now(), opts.overloadStats ?? null),
  });
  const byPort = (port: number): Backend => c.backends.find((b) => b.url.port === String(port))!;
  return { c, clock, events, seen, recorded, probed, reverified, byPort, outliers };
}

/** Through the road into service at once (no admission, no warm-up configured): READY. */
export function ready(b: Backend): void {
  b.set('push', { type: 'push-ready' }, 'test');
}

export function request(over: Partial<PickRequest> = {}): PickRequest & { slots: number; timeouts: number } {
  const r = {
    headers: {}, url: '/', choice: null, tried: null, mayQueue: true, slots: 0, timeouts: 0,
    onSlot() { r.slots++; },
    onQueueTimeout() { r.timeouts++; },
    ...over,
  };
  return r;
}

// Builds one Backend and its HealthController from YAML health settings, on a ManualClock, against a HealthBackend.
import pino from 'pino';
import { Agent, type Dispatcher } from 'undici';
import { Backend, type StateChange } from '../../src/backends/backend.js';
import { parseConfig, formatErrors } from '../../src/config/load.js';
import type { PoolConfig } from '../../src/config/types.js';
import { HealthController, warmupBackoffMs } from '../../src/health/controller.js';
import { resolveHealth } from '../../src/health/resolve.js';
import { Metrics } from '../../src/observe/metrics.js';
import type { HealthBackend } from './health-backend.js';
import { ManualClock } from '../helpers/manual-clock.js';

export interface ProberRig {
  clock: ManualClock;
  backend: Backend;
  prober: HealthController;
  metrics: Metrics;
  pool: PoolConfig;
  changes: StateChange[];
  /** Delay the prober uses between probes when jitter is 0. */
  interval: number;
  /** Wait until `n` probes in total have been fully processed (the prober scheduled its next one). */
  processed(n: number): Promise<void>;
  /** Fire the next probe and wait until it has been processed. */
  tick(): Promise<void>;
  close(): Promise<void>;
}

/** `health` is the YAML flow mapping of the pool's `health:` key; interval and timeout must differ. */
/** `probeDispatcher`: the dispatcher probes go through (default a plain Agent; tests inject connect failures with their own). */
export function proberRig(target: HealthBackend, health: string, random: () => number = () => 0.5, probeDispatcher?: Dispatcher): ProberRig {
  const text = `listen: 127.0.0.1:0\nadmin: { listen: 127.0.0.1:0 }\npools:\n  p:\n    health: ${health}\n    backends: [${target.url}]\n`;
  const parsed = parseConfig(text, 'rig.yaml', {});
  if (!parsed.ok) throw new Error(formatErrors(parsed.errors));
  const pool = parsed.config.pools.get('p')!;
  const bc = pool.groups[0]!.backends[0]!;
  const clock = new ManualClock();
  const metrics = new Metrics('test', { defaultMetrics: false });
  const changes: StateChange[] = [];
  const resolved = resolveHealth(pool.health);
  const policy = { healthyThreshold: resolved.readiness.healthyThreshold, unhealthyThreshold: resolved.readiness.unhealthyThreshold, livenessThreshold: 3, admission: false, warmup: false, warmupBackoffMs };
  const backend = new Backend(bc, pool, 'default', { stats: metrics.bindBackend('p', 'default', bc.id), now: () => clock.now(), onChange: (c) => changes.push(c), policy, hasStartupProbe: false });
  const agent = probeDispatcher ?? new Agent();
  const prober = new HealthController(backend, resolved, null, { clock, random, probeDispatcher: agent, log: pino({ level: 'silent' }), stats: metrics.healthStats() });
  const interval = resolved.readiness.intervalMs;
  const timeout = resolved.readiness.timeoutMs;
  if (interval === timeout) throw new Error('rig needs interval != timeout to tell their timers apart');
  // Every timer but the probe timeout and the startup deadline is the prober's "next probe" timer.
  const isNext = (ms: number): boolean => ms !== timeout && ms !== resolved.startupTimeoutMs;
  let done = 0;
  return {
    clock,
    backend,
    prober,
    metrics,
    pool,
    changes,
    interval,
    processed: (n) => clock.waitFor(isNext, n),
    async tick() {
      const last = clock.delays.filter(isNext).at(-1);
      if (last === undefined) throw new Error('no probe scheduled yet');
      done = clock.count(isNext);
      clock.advance(last);
      await clock.waitFor(isNext, done + 1);
    },
    async close() {
      prober.stop();
      await backend.close();
      await agent.close();
    },
  };
}

// Model admission whose metadata read fails on our side (EMFILE): no verdict on the model (no MISMATCH), counted as a
// local error, retried at the next readiness tick — not at once in a loop.
import pino from 'pino';
import { Agent, buildConnector } from 'undici';
import { afterEach, expect, test } from 'vitest';
import { Backend, type StateChange } from '../../src/backends/backend.js';
import { formatErrors, parseConfig } from '../../src/config/load.js';
import { HealthController, warmupBackoffMs } from '../../src/health/controller.js';
import { resolveHealth } from '../../src/health/resolve.js';
import { Metrics } from '../../src/observe/metrics.js';
import { FakeKServe } from '../fakes/index.js';
import { ManualClock } from '../helpers/manual-clock.js';

const MD5 = '55e55e80cf35a77f076aa8dcc2e26e0c';
let cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

test('EMFILE on the metadata read leaves the backend admitting; the next tick admits it', async () => {
  const server = await new FakeKServe({ version: '2', md5: MD5 }).start();
  cleanup.push(() => server.close());
  const text = `pools:\n  p:\n    health: { preset: kserve-v2, jitter: 0, startup: false, liveness: false, readiness: { interval: 7s, timeout: 1s }, model: { name: sklearn-iris, version: 2, md5: ${MD5} } }\n    backends: [${server.url}]\n`;
  const parsed = parseConfig(text, 'rig.yaml', {});
  if (!parsed.ok) throw new Error(formatErrors(parsed.errors));
  const pool = parsed.config.pools.get('p')!;
  const resolved = resolveHealth(pool.health);
  const clock = new ManualClock();
  const metrics = new Metrics('test', { defaultMetrics: false });
  const changes: StateChange[] = [];
  const policy = { healthyThreshold: 1, unhealthyThreshold: 1, livenessThreshold: 3, admission: true, warmup: false, warmupBackoffMs };
  const bc = pool.groups[0]!.backends[0]!;
  const backend = new Backend(bc, pool, 'default', { stats: metrics.bindBackend('p', 'default', bc.id), now: () => clock.now(), onChange: (c) => changes.push(c), policy, hasStartupProbe: false });
  // Connects after the first one (the readiness probe) fail with EMFILE while `failing` is set.
  let connects = 0;
  let failing = true;
  const real = buildConnector({});
  const agent = new Agent({
    connect(opts, callback) {
      connects++;
      if (!failing || connects === 1) return real(opts, callback);
      queueMicrotask(() => callback(Object.assign(new Error('connect EMFILE'), { code: 'EMFILE', syscall: 'connect' }), null));
    },
  });
  const controller = new HealthController(backend, resolved, null, { clock, random: () => 0.5, probeDispatcher: agent, log: pino({ level: 'silent' }), stats: metrics.healthStats() });
  cleanup.push(() => agent.close(), () => backend.close(), async () => controller.stop());
  const localErrors = async (): Promise<number> => (await metrics.registry.getSingleMetric('infergate_probe_local_errors_total')!.get()).values.reduce((n, v) => n + v.value, 0);

  controller.start();
  await clock.waitFor(7_000, 1); // the first readiness round is done (its verdict given, the next one armed)
  for (let i = 0; i < 20 && (await localErrors()) === 0; i++) await new Promise((r) => setTimeout(r, 10));
  expect(await localErrors()).toBe(1);
  // Not a tight loop: one failed metadata read, then nothing until the next tick.
  await new Promise((r) => setTimeout(r, 100));
  expect(connects).toBe(2);
  expect(backend.phase).toBe('admitting');
  expect(changes.map((c) => c.to)).not.toContain('MISMATCH');
  expect(backend.admission).toBeNull();

  failing = false;
  clock.advance(7_000);
  for (let i = 0; i < 200 && backend.state() !== 'READY'; i++) await new Promise((r) => setTimeout(r, 10));
  expect(backend.state()).toBe('READY');
  expect(backend.admission).toMatchObject({ ok: true });
});

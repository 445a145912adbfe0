// A probe that fails on infergate's own side (EMFILE, ENOBUFS, no free local port) is the balancer's fault: the
// backend keeps its state, the failure is counted as local, and the next tick probes again.
import { Agent, buildConnector } from 'undici';
import { afterEach, expect, test } from 'vitest';
import { startHealthBackend, type HealthBackend } from './health-backend.js';
import { proberRig, type ProberRig } from './prober-harness.js';

let target: HealthBackend;
let rig: ProberRig;
afterEach(async () => {
  await rig.close();
  await target.close();
});

/** An Agent whose connects fail with `code` while `failWith` is set, as connect() does when the process is out of fds. */
function faultyAgent(): { agent: Agent; failWith: { code: string | null } } {
  const failWith: { code: string | null } = { code: null };
  const real = buildConnector({});
  const agent = new Agent({
    connect(opts, callback) {
      if (failWith.code === null) return real(opts, callback);
      const err = Object.assign(new Error(`connect ${failWith.code} ${opts.hostname}:${opts.port} - Local (undefined:undefined)`), { code: failWith.code, syscall: 'connect' });
      queueMicrotask(() => callback(err, null));
    },
  });
  return { agent, failWith };
}

async function localErrors(code: string): Promise<number> {
  const m = await rig.metrics.registry.getSingleMetric('infergate_probe_local_errors_total')!.get();
  return m.values.filter((v) => v.labels.code === code).reduce((n, v) => n + v.value, 0);
}

test.each(['EMFILE', 'ENFILE', 'ENOBUFS', 'EADDRNOTAVAIL'])('%s on every probe does not move a READY backend; it is counted as local', async (code) => {
  target = await startHealthBackend();
  const { agent, failWith } = faultyAgent();
  rig = proberRig(target, '{ jitter: 0, readiness: { interval: 5s, timeout: 1s, healthyThreshold: 1, unhealthyThreshold: 1 } }', () => 0.5, agent);
  rig.prober.start();
  await rig.processed(1);
  expect(rig.backend.state()).toBe('READY');
  const lastGood = rig.backend.lastProbe;

  failWith.code = code;
  for (let i = 0; i < 3; i++) await rig.tick();
  // unhealthyThreshold 1: one failure the backend's own would have made it UNREADY.
  expect(rig.backend.state()).toBe('READY');
  expect(rig.changes.map((c) => c.to)).toEqual(['READY']);
  expect(await localErrors(code)).toBe(3);
  expect(rig.backend.lastProbe).toBe(lastGood);

  // Retried at the next tick: once sockets open again the probe reaches the backend, and its verdict counts.
  failWith.code = null;
  target.setHealth(500);
  await rig.tick();
  expect(rig.backend.state()).toBe('UNREADY');
});

test('the control: a refused connection is the backend\'s failure and makes it UNREADY', async () => {
  target = await startHealthBackend();
  const { agent, failWith } = faultyAgent();
  rig = proberRig(target, '{ jitter: 0, readiness: { interval: 5s, timeout: 1s, healthyThreshold: 1, unhealthyThreshold: 1 } }', () => 0.5, agent);
  rig.prober.start();
  await rig.processed(1);
  expect(rig.backend.state()).toBe('READY');
  failWith.code = 'ECONNREFUSED';
  await rig.tick();
  expect(rig.backend.state()).toBe('UNREADY');
  expect(await localErrors('ECONNREFUSED')).toBe(0);
});

test('a backend still LOADING stays LOADING through local failures, then becomes READY at the first probe that reaches it', async () => {
  target = await startHealthBackend();
  const { agent, failWith } = faultyAgent();
  failWith.code = 'EMFILE';
  rig = proberRig(target, '{ jitter: 0, readiness: { interval: 5s, timeout: 1s, healthyThreshold: 1, unhealthyThreshold: 1 } }', () => 0.5, agent);
  rig.prober.start();
  await rig.processed(1);
  await rig.tick();
  expect(rig.backend.state()).toBe('LOADING');
  expect(rig.backend.lastProbe).toBeNull();
  failWith.code = null;
  await rig.tick();
  expect(rig.backend.state()).toBe('READY');
});

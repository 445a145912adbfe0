// Each backend state change is logged once (msg, backend, from, to, reason) and counted in a metric.
import { afterEach, expect, test } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { startHealthBackend, type HealthBackend } from './health-backend.js';
import { ManualClock } from '../helpers/manual-clock.js';

let target: HealthBackend;
let stack: Stack;
afterEach(async () => {
  await stack.close();
  await target.close();
});

const changes = (s: Stack): Array<Record<string, unknown>> => s.logs.filter((l) => l.msg === 'backend state changed');

function transitions(text: string, from: string, to: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith('infergate_backend_state_transitions_total{') && l.includes(`from="${from}"`) && l.includes(`to="${to}"`));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

test('LOADING -> READY -> UNREADY -> READY: three log lines, three counted transitions, no repeats', async () => {
  target = await startHealthBackend();
  const clock = new ManualClock();
  stack = await startStack(
    `
pools:
  p:
    health: { jitter: 0, readiness: { path: /health, interval: 7s, timeout: 1s, healthyThreshold: 2, unhealthyThreshold: 2 } }
    backends: [${target.url}]
`,
    { waitReady: false, deps: { clock } },
  );
  const id = `p.default.127.0.0.1:${target.port}`;
  let probes = 1;
  const probe = async (): Promise<void> => {
    clock.advance(7_000);
    await clock.waitFor(7_000, ++probes);
  };
  await clock.waitFor(7_000, 1);
  target.setHealth(500);
  for (let i = 0; i < 4; i++) await probe();
  target.setHealth(200);
  for (let i = 0; i < 4; i++) await probe();

  const lines = changes(stack);
  expect(lines.map((l) => [l.from, l.to])).toEqual([
    ['LOADING', 'READY'],
    ['READY', 'UNREADY'],
    ['UNREADY', 'READY'],
  ]);
  for (const l of lines) expect(l).toMatchObject({ backend: id, pool: 'p', group: 'default' });
  expect(lines[0]!.reason).toBe('readiness /health passed');
  expect(lines[1]!.reason).toBe('readiness /health failed: status 500');
  expect(lines[1]!.level).toBe('warn'); // warn: a backend went out
  expect(lines[2]!.level).toBe('info');

  const text = await (await fetch(`${stack.adminUrl}/metrics`)).text();
  expect(transitions(text, 'LOADING', 'READY')).toBe(1);
  expect(transitions(text, 'READY', 'UNREADY')).toBe(1);
  expect(transitions(text, 'UNREADY', 'READY')).toBe(1);
  expect(text).toMatch(new RegExp(`infergate_health_checks_total\\{pool="p",group="default",backend="${id.replace(/\./g, '\\.')}",result="fail"\\} 4`));
  expect(text).toMatch(new RegExp(`infergate_health_checks_total\\{pool="p",group="default",backend="${id.replace(/\./g, '\\.')}",result="pass"\\} 5`));
});

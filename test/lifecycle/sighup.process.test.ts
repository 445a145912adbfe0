// The real process: SIGHUP with an invalid file keeps the old configuration serving; a valid one is applied.
import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, expect, test } from 'vitest';
import { startHealthBackend, type HealthBackend } from '../health/health-backend.js';
import { runCli, startedPorts, tempConfig, type Proc } from './process.js';

let a: HealthBackend;
let b: HealthBackend;
let proc: Proc | null = null;
afterEach(async () => {
  if (proc && proc.child.exitCode === null && proc.child.signalCode === null) {
    proc.child.kill('SIGKILL');
    await proc.exited;
  }
  await a.close();
  await b.close();
});

function metric(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

test('invalid config on SIGHUP: error logged, old config keeps serving, reload metrics say so; then a valid one applies', async () => {
  a = await startHealthBackend();
  b = await startHealthBackend();
  const good = `
listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
pools:
  p:
    balance: round-robin
    health: { readiness: { path: /health, interval: 100ms, timeout: 1s } }
    backends: [${a.url}]
`;
  const file = tempConfig(good);
  proc = runCli(['--config', file]);
  const { port, adminPort } = await startedPorts(proc);
  await proc.waitForLog((l) => l.msg === 'backend state changed' && l.to === 'READY');
  expect(await (await fetch(`http://127.0.0.1:${port}/x`)).text()).toBe('served');

  writeFileSync(file, good.replace('balance: round-robin', 'balance: sideways').replace('interval: 100ms', 'interval: soon'));
  proc.child.kill('SIGHUP');
  const failed = await proc.waitForLog((l) => l.msg === 'configuration reload failed; keeping the previous configuration');
  expect(failed.level).toBe('error');
  // Both mistakes are reported, each with file:line:col.
  const errors = String(failed.errors);
  expect(errors).toContain(`${file}:6:`);
  expect(errors).toContain(`${file}:7:`);

  for (let i = 0; i < 3; i++) expect((await fetch(`http://127.0.0.1:${port}/x`)).status).toBe(200);
  expect(a.userRequests).toBe(4);
  let text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  expect(metric(text, 'infergate_config_last_reload_success')).toBe(0);
  expect(metric(text, 'infergate_config_reloads_total{result="failure"}')).toBe(1);

  // A valid file: the new backend joins, the old one is still READY at once.
  writeFileSync(file, good.replace(`backends: [${a.url}]`, `backends: [${a.url}, ${b.url}]`));
  expect(readFileSync(file, 'utf8')).toContain(b.url);
  proc.child.kill('SIGHUP');
  await proc.waitForLog((l) => l.msg === 'configuration reloaded');
  await proc.waitForLog((l) => l.msg === 'backend state changed' && l.backend === `p.default.127.0.0.1:${b.port}` && l.to === 'READY');
  for (let i = 0; i < 4; i++) expect((await fetch(`http://127.0.0.1:${port}/x`)).status).toBe(200);
  expect(a.userRequests).toBe(6);
  expect(b.userRequests).toBe(2);
  text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  expect(metric(text, 'infergate_config_last_reload_success')).toBe(1);
  expect(metric(text, 'infergate_config_reloads_total{result="success"}')).toBe(1);
  // The old backend never went back through LOADING.
  expect(proc.logs.filter((l) => l.msg === 'backend state changed' && l.backend === `p.default.127.0.0.1:${a.port}`)).toHaveLength(1);

  // Ctrl-C: drains at once (SIGTERM would first keep accepting for shutdown.grace).
  proc.child.kill('SIGINT');
  expect(await proc.exited).toBe(0);
});

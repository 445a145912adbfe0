// The real process: `kill -USR1` (logrotate's postrotate) makes infergate open its access log file again.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { startHealthBackend, type HealthBackend } from '../health/health-backend.js';
import { runCli, startedPorts, tempConfig, type Proc } from './process.js';

let backend: HealthBackend;
let proc: Proc | null = null;
afterEach(async () => {
  if (proc && proc.child.exitCode === null && proc.child.signalCode === null) {
    proc.child.kill('SIGKILL');
    await proc.exited;
  }
  await backend.close();
});

async function fileUntil(file: string, needle: string): Promise<string> {
  for (let i = 0; i < 150; i++) {
    const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
    if (text.includes(needle)) return text;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${needle} never reached ${file}`);
}

test('rename the file, send SIGUSR1: the next lines go to a new file under the old name', async () => {
  backend = await startHealthBackend();
  const config = tempConfig('');
  const file = path.join(path.dirname(config), 'access.log');
  const yaml = `
listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
log: { accessLog: { to: access.log, format: combined } }
pools:
  p:
    health: { readiness: { path: /health, interval: 100ms, timeout: 1s } }
    backends: [${backend.url}]
`;
  writeFileSync(config, yaml);
  proc = runCli(['--config', config]);
  const { port } = await startedPorts(proc);
  await proc.waitForLog((l) => l.msg === 'backend state changed' && l.to === 'READY');
  const get = async (p: string): Promise<void> => {
    expect((await fetch(`http://127.0.0.1:${port}${p}`)).status).toBe(200);
  };
  await get('/before-rotate');
  await fileUntil(file, 'GET /before-rotate HTTP/1.1');
  renameSync(file, `${file}.1`);
  proc.child.kill('SIGUSR1');
  await proc.waitForLog((l) => l.msg === 'access log reopened');
  await get('/after-rotate');
  const fresh = await fileUntil(file, 'GET /after-rotate HTTP/1.1');
  expect(fresh).not.toContain('before-rotate');
  expect(readFileSync(`${file}.1`, 'utf8')).not.toContain('after-rotate');
  // Still running: SIGUSR1 did not start Node's inspector or stop the process.
  expect(proc.child.exitCode).toBeNull();
  expect(proc.stderr()).not.toMatch(/Debugger listening/);
});

// The real process: SIGTERM while a request streams -> new connections refused, the request completes, exit 0.
import net from 'node:net';
import { afterEach, expect, test } from 'vitest';
import { sendRaw } from '../helpers/raw-http.js';
import { startHeldBackend, type HeldBackend } from './held-backend.js';
import { runCli, startedPorts, tempConfig, type Proc } from './process.js';

let held: HeldBackend;
let proc: Proc | null = null;
afterEach(async () => {
  if (proc && proc.child.exitCode === null && proc.child.signalCode === null) {
    proc.child.kill('SIGKILL');
    await proc.exited;
  }
  await held.close();
});

test('SIGTERM drains an in-flight stream, then the process exits 0', async () => {
  held = await startHeldBackend();
  const file = tempConfig(`
listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
shutdown: { drainTimeout: 20s, grace: 0s }
pools:
  p:
    health: { readiness: { path: /health, interval: 200ms, timeout: 1s } }
    backends: [${held.backend.url}]
`);
  proc = runCli(['--config', file]);
  const { port } = await startedPorts(proc);
  await proc.waitForLog((l) => l.msg === 'backend state changed' && l.to === 'READY');

  const reply = sendRaw(port, 'GET /generate HTTP/1.1\r\nHost: x\r\n\r\n', { timeoutMs: 15_000 });
  const upstream = await held.arrived(1);
  proc.child.kill('SIGTERM');
  await proc.waitForLog((l) => l.msg === 'shutting down: draining in-flight requests');
  const refused = await new Promise<string | null>((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => (s.destroy(), resolve(null)));
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
  expect(refused).toBe('ECONNREFUSED');
  expect(proc.child.exitCode).toBe(null);

  upstream.end('data: 2\n\n');
  const r = await reply;
  expect(r.timedOut).toBe(false);
  expect(r.status).toBe(200);
  expect(r.responses[0]!.body).toBe('data: 1\n\ndata: 2\n\n');
  expect(await proc.exited).toBe(0);
  expect(proc.logs.map((l) => l.msg)).toContain('infergate stopped');
  expect(proc.stderr()).toBe('');
});

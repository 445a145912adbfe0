// `workers: N` as a real process tree: the owner pushes its view (a backend that becomes READY in the owner takes
// traffic in every worker), a killed worker is replaced while the others keep serving, and SIGHUP / SIGTERM under
// load lose no request. Metrics and the admin API answer for the whole tree.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { afterEach, expect, test } from 'vitest';
import { killProc, runCli, tempConfig, type Proc } from '../lifecycle/process.js';

let proc: Proc | null = null;
const servers: http.Server[] = [];

afterEach(async () => {
  await killProc(proc);
  proc = null;
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A backend answering with its name (after `delayMs`); `listen: false` reserves the port without serving. */
async function backend(name: string, delayMs = 0): Promise<{ url: string; port: number; server: http.Server; arrived(): number }> {
  let arrived = 0;
  const server = http.createServer((req, res) => {
    if (req.url === '/health') return res.end('ok');
    arrived++;
    setTimeout(() => res.end(`${name} pid`), delayMs);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  servers.push(server);
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}`, port, server, arrived: () => arrived };
}

interface Tree {
  port: number;
  adminPort: number;
  workerPids(): number[];
}

/** Starts infergate with `workers: 2`; resolves once both workers listen and every backend in `ready` is READY. */
async function start(yaml: string): Promise<Tree> {
  proc = runCli(['--config', tempConfig(`listen: 127.0.0.1:0\nadmin: { listen: 127.0.0.1:0 }\nworkers: 2\nlog: { accessLog: false }\n${yaml}`)]);
  const p = proc;
  const owner = await p.waitForLog((l) => l.msg === 'infergate started' && l.role === 'owner');
  await p.waitForLog((l) => l.msg === 'workers started');
  // Each process writes its own log lines: the workers' may reach the pipe after the owner's.
  const worker = await p.waitForLog((l) => l.msg === 'infergate started' && l.role === 'worker');
  await expect.poll(() => p.logs.filter((l) => l.msg === 'infergate started' && l.role === 'worker').length, { timeout: 5000 }).toBe(2);
  const portOf = (a: unknown): number => Number(String(a).split(':').at(-1));
  return {
    port: portOf(worker.listen),
    adminPort: portOf(owner.admin),
    workerPids: () => [...new Set(p.logs.filter((l) => l.msg === 'infergate started' && l.role === 'worker').map((l) => Number(l.pid)))],
  };
}

const pool = (urls: string[], extra = ''): string => `
pools:
  p:
    balance: round-robin
    health: { readiness: { path: /health, interval: 200ms, timeout: 1s } }
    backends: [${urls.join(', ')}]
${extra}`;

/** `n` loops sending requests until `until()` says stop; counts answers by body prefix and failures. */
async function load(port: number, loops: number, until: () => boolean, fresh = false): Promise<{ ok: number; failed: number; bodies: Map<string, number> }> {
  // A connection caught with the worker killed under it must fail, not hang: bounded.
  const agent = new Agent({ connections: loops, pipelining: 1, headersTimeout: 5000, bodyTimeout: 5000 });
  const bodies = new Map<string, number>();
  let ok = 0;
  let failed = 0;
  await Promise.all(Array.from({ length: loops }, async () => {
    while (!until()) {
      try {
        const r = await request(`http://127.0.0.1:${port}/infer`, { method: 'POST', body: '{}', dispatcher: agent, reset: fresh });
        const text = await r.body.text();
        if (r.statusCode === 200) {
          ok++;
          const name = text.split(' ')[0]!;
          bodies.set(name, (bodies.get(name) ?? 0) + 1);
        } else failed++;
      } catch {
        failed++;
      }
    }
  }));
  await agent.close();
  return { ok, failed, bodies };
}

test('a backend that becomes READY in the owner takes traffic in every worker; metrics and admin cover the tree', async () => {
  const a = await backend('a');
  // b's port is reserved but closed: the owner sees it LOADING.
  const b = await backend('b');
  await new Promise((r) => b.server.close(r));
  const tree = await start(pool([a.url, b.url]));
  await proc!.waitForLog((l) => l.msg === 'backend state changed' && l.to === 'READY' && String(l.backend).endsWith(String(a.port)));
  let stop = false;
  const before = load(tree.port, 4, () => stop, true);
  await new Promise((r) => setTimeout(r, 300));
  stop = true;
  const r1 = await before;
  expect(r1.failed).toBe(0);
  expect([...r1.bodies.keys()]).toEqual(['a']);

  // b comes up on its port: the owner's probe admits it, the view reaches the workers.
  const again = http.createServer((req, res) => (req.url === '/health' ? res.end('ok') : res.end('b pid')));
  await new Promise<void>((r) => again.listen(b.port, '127.0.0.1', () => r()));
  servers.push(again);
  const ready = await proc!.waitForLog((l) => l.msg === 'backend state changed' && l.to === 'READY' && String(l.backend).endsWith(String(b.port)));
  expect(ready.role ?? 'owner').toBeDefined();
  stop = false;
  const after = load(tree.port, 4, () => stop, true);
  await new Promise((r) => setTimeout(r, 400));
  stop = true;
  const r2 = await after;
  expect(r2.failed).toBe(0);
  // Round robin in each worker: both backends, about evenly.
  expect(r2.bodies.get('b') ?? 0).toBeGreaterThan(r2.ok / 4);

  // The admin API and /metrics answer for the whole tree: requests counted by the workers show in the owner.
  const view = await (await fetch(`http://127.0.0.1:${tree.adminPort}/admin/backends`)).json() as { backends: Array<{ id: string; requests: number; state: string }> };
  const total = view.backends.reduce((n, x) => n + x.requests, 0);
  await expect.poll(async () => {
    const v = await (await fetch(`http://127.0.0.1:${tree.adminPort}/admin/backends`)).json() as { backends: Array<{ requests: number }> };
    return v.backends.reduce((n, x) => n + x.requests, 0);
  }, { timeout: 2000 }).toBeGreaterThanOrEqual(r1.ok + r2.ok);
  expect(total).toBeGreaterThan(0);
  const metrics = await (await fetch(`http://127.0.0.1:${tree.adminPort}/metrics`)).text();
  const served = [...metrics.matchAll(/^infergate_requests_total\{[^}]*code="2xx"\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
  expect(served).toBe(r1.ok + r2.ok);
  // State gauges are the owner's, not summed over workers.
  expect(metrics).toMatch(new RegExp(`infergate_backend_up\\{[^}]*${b.port}"\\} 1\\n`));
}, 30_000);

test('a killed worker is replaced; the other keeps serving; SIGHUP and SIGTERM under load lose no request', async () => {
  const a = await backend('a', 5);
  const b = await backend('b', 5);
  const tree = await start(pool([a.url, b.url]));
  await proc!.waitForLog((l) => l.msg === 'backend state changed' && l.to === 'READY' && String(l.backend).endsWith(String(b.port)));
  const [victim] = tree.workerPids();
  let stop = false;
  const running = load(tree.port, 6, () => stop, true);
  await new Promise((r) => setTimeout(r, 300));
  process.kill(victim!, 'SIGKILL');
  await proc!.waitForLog((l) => l.msg === 'worker exited; starting a replacement');
  await expect.poll(() => tree.workerPids().length, { timeout: 10_000 }).toBe(3);
  await new Promise((r) => setTimeout(r, 500));
  stop = true;
  const r = await running;
  // Only requests in flight on the killed worker at that instant can fail (one per loop at most).
  expect(r.failed).toBeLessThanOrEqual(6);
  expect(r.ok).toBeGreaterThan(50);

  // After the replacement: zero failures, also across a reload (SIGHUP) under keep-alive load.
  stop = false;
  const steady = load(tree.port, 6, () => stop);
  await new Promise((r) => setTimeout(r, 300));
  proc!.child.kill('SIGHUP');
  await proc!.waitForLog((l) => l.msg === 'configuration reloaded');
  await new Promise((r) => setTimeout(r, 500));
  stop = true;
  const s = await steady;
  expect(s.failed).toBe(0);
  expect(s.ok).toBeGreaterThan(50);
}, 30_000);

test('SIGTERM drains every worker: requests in progress finish, the process tree exits 0', async () => {
  const slow = await backend('slow', 800);
  const tree = await start(pool([slow.url], 'shutdown: { grace: 0s, drainTimeout: 10s }'.replace(/^/, '')));
  await proc!.waitForLog((l) => l.msg === 'backend state changed' && l.to === 'READY');
  const agent = new Agent({ connections: 8 });
  const inFlight = Array.from({ length: 8 }, () => request(`http://127.0.0.1:${tree.port}/infer`, { method: 'POST', body: '{}', dispatcher: agent }).then(async (r) => `${r.statusCode} ${await r.body.text()}`));
  // Every request is in progress at the backend (accepted by a worker) when the signal comes.
  await expect.poll(() => slow.arrived(), { timeout: 10_000 }).toBe(8);
  proc!.child.kill('SIGTERM');
  const answers = await Promise.all(inFlight);
  expect(answers).toEqual(Array(8).fill('200 slow pid'));
  expect(await proc!.exited).toBe(0);
  await agent.close();
}, 30_000);

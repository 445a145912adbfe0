// Clients that hold connections without sending a request: timeouts fire at their configured value (Node checks
// every 30 s by default), silent connections go at once on shutdown, and a slowloris crowd sending headers a byte
// at a time does not slow down a well-behaved client.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { Agent, request } from 'undici';
import { startStack } from '../helpers/stack.js';
import { runCli, startedPorts, tempConfig } from '../lifecycle/process.js';
import { onePool } from '../e2e/support.js';

let backend: TestBackend;
beforeAll(async () => {
  backend = await startBackend();
});
afterAll(async () => {
  await backend.close();
});

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  });
}

/** ms until the server closes `s`. */
function closedAfter(s: net.Socket, t0: number): Promise<number> {
  return new Promise((resolve) => {
    s.on('error', () => undefined);
    s.once('close', () => resolve(Date.now() - t0));
  });
}

function p99(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]!;
}

test('headersTimeout is enforced at its configured value, for silent connections and for dribbled headers', async () => {
  const stack = await startStack(`server: { headersTimeout: 1s }\n${onePool([backend.url])}`);
  try {
    const t0 = Date.now();
    const silent = await connect(stack.port);
    const partial = await connect(stack.port);
    partial.write('GET / HTTP/1.1\r\nHost: a\r\n');
    const dribble = setInterval(() => partial.write('X-A: b\r\n'), 200);
    const [a, b] = await Promise.all([closedAfter(silent, t0), closedAfter(partial, t0)]);
    clearInterval(dribble);
    // Node's own check runs every 30 s unless told otherwise: a 1 s timeout used to fire at up to 31 s.
    for (const ms of [a, b]) {
      expect(ms).toBeGreaterThanOrEqual(900);
      expect(ms).toBeLessThan(2500);
    }
  } finally {
    await stack.close();
  }
});

test('shutdown closes silent and half-sent connections at once instead of waiting out drainTimeout', async () => {
  const stack = await startStack(onePool([backend.url]));
  const silent = await connect(stack.port);
  const partial = await connect(stack.port);
  partial.write('GET / HTTP/1.1\r\nHost: a\r\n');
  // Let the proxy see the bytes.
  await new Promise((r) => setTimeout(r, 100));
  const t0 = Date.now();
  const closes = Promise.all([closedAfter(silent, t0), closedAfter(partial, t0)]);
  await stack.app.shutdown({ graceMs: 0 });
  const elapsed = Date.now() - t0;
  await closes;
  // drainTimeout is 30 s by default: these connections carry no request to wait for.
  expect(elapsed).toBeLessThan(2000);
});

test('a crowd of slowloris clients (headers a byte per second) leaves a well-behaved client at under 2x its p99', async () => {
  // infergate in its own process with the shipped defaults: the crowd and the measuring client share this one.
  const proc = runCli(['--config', tempConfig(`listen: 127.0.0.1:0\nadmin: { listen: 127.0.0.1:0 }\n${onePool([backend.url])}`)]);
  const { port } = await startedPorts(proc);
  await proc.waitForLog((l) => l.msg === 'backend state changed' && l.to === 'READY');
  const agent = new Agent({ connections: 1 });
  const measure = async (n: number): Promise<number[]> => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      const r = await request(`http://127.0.0.1:${port}/ok`, { dispatcher: agent });
      await r.body.arrayBuffer();
      expect(r.statusCode).toBe(200);
      out.push(performance.now() - t);
    }
    return out;
  };
  const crowd: net.Socket[] = [];
  const timers: NodeJS.Timeout[] = [];
  const line = 'ET / HTTP/1.1\r\nHost: a\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
  const attack = async (): Promise<void> => {
    for (let i = 0; i < 300; i++) {
      const s = await connect(port);
      s.on('error', () => undefined);
      s.write('G');
      crowd.push(s);
      let at = 0;
      // One byte a second per client, phases spread: 300 bytes/s in all, as a real slowloris crowd.
      timers.push(setTimeout(() => timers.push(setInterval(() => !s.destroyed && s.write(line[at++ % line.length]!), 1000)), (i * 1000) / 300));
    }
    await new Promise((r) => setTimeout(r, 1000));
  };
  const callOff = (): void => {
    for (const t of timers.splice(0)) clearInterval(t);
    for (const s of crowd.splice(0)) s.destroy();
  };
  try {
    await measure(100); // warm-up
    // Rounds alternate without and with the crowd (the machine's load drifts: side by side, median of five).
    const ratios: string[] = [];
    const rounds: Array<{ base: number; under: number }> = [];
    const median = (): number => {
      const sorted = rounds.map((r) => r.under / r.base).sort((x, y) => x - y);
      return sorted[Math.floor(sorted.length / 2)]!;
    };
    // Five rounds; if other test files running beside this one make the median look bad, five more confirm it (a
    // real starvation fails both sets; a noisy moment does not).
    for (let round = 0; round < 10 && (round < 5 || median() >= 2); round++) {
      const base = p99(await measure(300));
      await attack();
      const under = p99(await measure(300));
      expect(crowd.filter((s) => !s.destroyed).length).toBeGreaterThan(250); // the crowd really was there
      callOff();
      rounds.push({ base, under });
      ratios.push(`${base.toFixed(1)} -> ${under.toFixed(1)} ms`);
    }
    console.log(`slowloris headers (300 clients, 1 byte/s each): p99 per round ${ratios.join(', ')}; median of ${rounds.length} ratios ${median().toFixed(2)}x`);
    expect(median()).toBeLessThan(2);
  } finally {
    callOff();
    await agent.close();
    proc.child.kill('SIGINT');
    await proc.exited;
  }
}, 120_000);

test('a flood of idle connections under a small open-files limit is refused at the listener; probes and requests go on', async () => {
  // 256 descriptors: auto limits are (256 - 64) / 2 = 96 connections, 48 per client address.
  const proc = runCli(['--config', tempConfig(`listen: 127.0.0.1:0\nadmin: { listen: 127.0.0.1:0 }\n${onePool([backend.url])}`)], { fdLimit: 256 });
  const { port, adminPort } = await startedPorts(proc);
  await proc.waitForLog((l) => l.msg === 'backend state changed' && l.to === 'READY');
  const flood: net.Socket[] = [];
  try {
    for (let i = 0; i < 400; i++) {
      // Several client addresses (all loopback), so the per-listener limit is reached, not only the per-client one.
      const s = net.connect({ port, host: '127.0.0.1', localAddress: `127.0.0.${2 + (i % 4)}` });
      s.on('error', () => undefined);
      flood.push(s);
    }
    await new Promise((r) => setTimeout(r, 3500)); // three readiness probes (1 s)
    const open = flood.filter((s) => !s.destroyed).length;
    expect(open).toBeLessThanOrEqual(96);
    for (const s of flood.filter((x) => !x.destroyed).slice(0, 40)) s.destroy(); // room for the well-behaved client below
    await new Promise((r) => setTimeout(r, 200));
    const r = await fetch(`http://127.0.0.1:${port}/ok`);
    expect(r.status).toBe(200);
    const metrics = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
    expect(metrics).toMatch(/infergate_client_connections_refused_total\{listener="127\.0\.0\.1:0",reason="(listener|client)-full"\} [1-9]/);
    // Probes kept their descriptors: the backend never left READY.
    expect(proc.logs.filter((l) => l.msg === 'backend state changed' && l.from === 'READY')).toEqual([]);
    expect(proc.stderr()).not.toContain('EMFILE');
  } finally {
    for (const s of flood) s.destroy();
    proc.child.kill('SIGINT');
    await proc.exited;
  }
}, 20_000);

test('idle connection floods cost a few KB each and the memory is reused, not leaked, flood after flood', async () => {
  const proc = runCli(['--config', tempConfig(`listen: 127.0.0.1:0\nadmin: { listen: 127.0.0.1:0 }\nlog: { accessLog: false }\n${onePool([backend.url])}`)]);
  const { port } = await startedPorts(proc);
  const rssMb = (): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${proc.child.pid}/status`, 'utf8'))![1]) / 1024;
  const flood = async (n: number): Promise<void> => {
    const socks: net.Socket[] = [];
    for (let i = 0; i < n; i++) {
      const s = net.connect({ port, host: '127.0.0.1', localAddress: `127.0.0.${2 + (i % 8)}` });
      s.on('error', () => undefined);
      socks.push(s);
      if (i % 500 === 499) await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 1000));
    expect(socks.filter((s) => !s.destroyed).length).toBe(n);
    for (const s of socks) s.destroy();
    await new Promise((r) => setTimeout(r, 1000));
  };
  try {
    await proc.waitForLog((l) => l.msg === 'backend state changed' && l.to === 'READY');
    const start = rssMb();
    await flood(3000);
    const afterFirst = rssMb();
    await flood(3000);
    await flood(3000);
    const afterThird = rssMb();
    console.log(`idle floods of 3000: RSS ${start.toFixed(0)} -> ${afterFirst.toFixed(0)} -> ${afterThird.toFixed(0)} MB after three`);
    // ~7 KB per idle connection measured (20 MB for 3000); the bound leaves room for a loaded machine's GC timing.
    expect(afterFirst - start).toBeLessThan(60);
    // Two more floods reuse that memory: a leak would add as much again each time (two floods' worth here).
    expect(afterThird - afterFirst).toBeLessThan(Math.max(15, afterFirst - start));
    const r = await fetch(`http://127.0.0.1:${port}/ok`);
    expect(r.status).toBe(200);
  } finally {
    proc.child.kill('SIGINT');
    await proc.exited;
  }
}, 30_000);

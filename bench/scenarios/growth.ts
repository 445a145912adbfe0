/**
 * How the cost of one request grows with the size of the configuration (issue 11, item 4): backends in a pool,
 * pools, routes, and SSE streams held open. Each dimension's steps run as separate infergate processes side by side,
 * measured in interleaved rounds (the streams' steps one after another: each needs most of a process's descriptors).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { createHistogram } from 'node:perf_hooks';
import { exitReason, spawnChild, type Child } from '../lib/children.ts';
import { cpuMs } from '../lib/cpu.ts';
import { machineInfo } from '../lib/machine.ts';
import { freePort, waitForStatus } from '../lib/net.ts';
import { envNumber, fixed, markdownTable, round, writeReport } from '../lib/report.ts';
import { readRssMB } from '../lib/rss.ts';
import { sseHolder } from '../lib/sse-holder.ts';
import { readFileSync } from 'node:fs';
import { BASELINE_CLI, INFERGATE_CLI } from '../lib/targets.ts';

const BENCH_DIR = dirname(dirname(fileURLToPath(import.meta.url)));

/** The soft open-file limit infergate inherits from us (Linux /proc), or null. */
function openFileLimit(): number | null {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const n = Number(line?.slice('Max open files'.length).trim().split(/\s+/)[0]);
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}

type Dimension = 'backends' | 'pools' | 'routes';

interface Load {
  requestsPerSec: number;
  total: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  cpuMs: number;
  durationSec: number;
  /** CPU µs per response, all of the process's CPU during the run. */
  cpuUs: number;
  /** The same less what the process spends idle (probes) in as long: the request path's own cost. */
  netCpuUs: number;
}

interface StepResult {
  dimension: Dimension | 'backends-saturated';
  n: number;
  /** `baseline`: the BENCH_BASELINE_CLI build, run side by side with this one. */
  build: 'infergate' | 'baseline';
  description: string;
  backendsTotal: number;
  probesPerSec: number;
  /** CPU of the idle process (readiness probes, timers), ms per second. */
  idleCpuMsPerSec: number;
  idleRssMB: number;
  rounds: Load[];
  bestReqPerSec: Load;
  lowestCpuUs: number;
  lowestNetCpuUs: number;
}

interface StreamStep {
  streams: number;
  opened: number;
  failed: number;
  idleRssMB: number;
  rssWithStreamsMB: number;
  rssPerStreamKB: number;
  /** (RSS open - RSS open of the previous step) / (streams - previous streams): the slope, free of one-off growth. */
  marginalKBPerStream: number | null;
  /** Events the client received per second while held, and the proxy's CPU per event. */
  eventsPerSec: number;
  cpuMsPerSec: number;
  cpuUsPerEvent: number;
  eventDelayP50Ms: number;
  eventDelayP99Ms: number;
  /** Small requests through the same process while the streams are open. */
  load: Load | null;
}

// ---- processes ----

function waitForPorts(child: Child, timeoutMs = 30_000): Promise<number[]> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Error(`${child.name} did not list its ports:\n${child.tail()}`)), timeoutMs);
    child.proc.stdout?.on('data', function onData(chunk: Buffer) {
      buffered += chunk.toString('utf8');
      const line = buffered.split('\n').find((l) => l.startsWith('{') && l.includes('"ports"') && l.endsWith('}'));
      if (line === undefined) return;
      clearTimeout(timer);
      child.proc.stdout?.off('data', onData);
      resolve((JSON.parse(line) as { ports: number[] }).ports);
    });
  });
}

async function startBackends(count: number): Promise<{ ports: number[]; child: Child }> {
  const child = spawnChild('growth-backend', process.execPath, ['--no-warnings', join(BENCH_DIR, 'servers', 'growth-backend.ts'), String(count)]);
  return { ports: await waitForPorts(child), child };
}

interface PoolSpec {
  name: string;
  ports: readonly number[];
  extra?: Record<string, unknown>;
}

interface Infergate {
  name: string;
  pid: number;
  port: number;
  adminPort: number;
  stop(): Promise<void>;
}

/**
 * infergate with the given pools and routes. The config is JSON (a YAML file may be JSON). `listener` sets the listener's
 * connection limits when the default (auto: half the descriptor limit, a quarter per client address) would refuse the
 * bench's own connections, all from 127.0.0.1.
 */
async function startInfergate(
  name: string,
  pools: readonly PoolSpec[],
  routes: ReadonlyArray<{ name: string; match: Record<string, unknown>; pool: string }> | null,
  listener: { maxConnections: number; maxConnectionsPerClient: number } | null = null,
  cli: string = INFERGATE_CLI,
): Promise<Infergate> {
  const dir = await mkdtemp(join(tmpdir(), 'infergate-growth-'));
  const port = await freePort();
  const adminPort = await freePort();
  const config = {
    listen: listener === null ? `127.0.0.1:${port}` : { address: `127.0.0.1:${port}`, ...listener },
    admin: { listen: `127.0.0.1:${adminPort}` },
    log: { level: 'warn', accessLog: false },
    ...(routes === null ? {} : { routes }),
    // Default balancer (least-request) and default readiness probe (GET /health every 1s): what a user gets.
    pools: Object.fromEntries(
      pools.map((p) => [p.name, { health: { readiness: { path: '/health' } }, backends: p.ports.map((q) => `http://127.0.0.1:${q}`), ...p.extra }]),
    ),
  };
  const file = join(dir, 'infergate.yaml');
  await writeFile(file, `${JSON.stringify(config, null, 1)}\n`);
  const nodeArgs = (process.env.BENCH_INFERGATE_NODE_ARGS ?? '').split(' ').filter((arg) => arg !== '');
  const child = spawnChild(name, process.execPath, [...nodeArgs, cli, '--config', file]);
  const stop = async (): Promise<void> => {
    await child.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForStatus(`http://127.0.0.1:${adminPort}/readyz`, 200, 30_000, exitReason(child));
    // /readyz is 200 with one READY backend; load waits for all of them (a LOADING backend would skew the pick).
    const want = pools.reduce((n, p) => n + p.ports.length, 0);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const text = await (await fetch(`http://127.0.0.1:${adminPort}/admin/backends`)).text();
      const ready = text.split('"state":"READY"').length - 1;
      if (ready >= want) break;
      if (Date.now() > deadline) throw new Error(`${ready} of ${want} backends READY after 30 s`);
      await sleep(200);
    }
  } catch (error) {
    await stop();
    throw new Error(`${name} not ready: ${error instanceof Error ? error.message : String(error)}\n${child.tail()}`);
  }
  return { name, pid: child.pid, port, adminPort, stop };
}

// ---- measurements ----

/** CPU ms per second of an idle process over `seconds`: its probes and timers. */
async function idleCpu(pid: number, seconds: number): Promise<number> {
  const before = cpuMs(pid) ?? 0;
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const after = cpuMs(pid) ?? 0;
  return ((after - before) * 1000) / (performance.now() - t0);
}

/** One autocannon run over `paths` (cycled per connection), with the process's CPU over the run. */
async function measure(pid: number, port: number, paths: readonly string[], connections: number, durationSec: number, idleMsPerSec: number): Promise<Load> {
  const latencyUs = createHistogram();
  const before = cpuMs(pid) ?? 0;
  const instance = autocannon({
    url: `http://127.0.0.1:${port}`,
    connections,
    duration: durationSec,
    pipelining: 1,
    timeout: 10,
    requests: paths.map((path) => ({ method: 'GET' as const, path })),
  });
  instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTimeMs: number) => {
    if (statusCode >= 200 && statusCode < 300) latencyUs.record(Math.max(1, Math.round(responseTimeMs * 1000)));
  });
  const result = await instance;
  const cpu = (cpuMs(pid) ?? 0) - before;
  const duration = result.duration > 0 ? result.duration : durationSec;
  const total = result.requests.total;
  const pct = (p: number): number => (latencyUs.count > 0 ? latencyUs.percentile(p) / 1000 : Number.NaN);
  return {
    requestsPerSec: round(total / duration, 1),
    total,
    p50Ms: round(pct(50)),
    p99Ms: round(pct(99)),
    errors: result.errors + result.timeouts + result.non2xx,
    cpuMs: round(cpu, 1),
    durationSec: round(duration, 2),
    cpuUs: total > 0 ? round((cpu * 1000) / total, 1) : Number.NaN,
    netCpuUs: total > 0 ? round(((cpu - idleMsPerSec * duration) * 1000) / total, 1) : Number.NaN,
  };
}

interface StepPlan {
  n: number;
  description: string;
  pools: PoolSpec[];
  routes: ReadonlyArray<{ name: string; match: Record<string, unknown>; pool: string }> | null;
  /** Request paths, cycled by each connection. */
  paths: string[];
  connections?: number;
  listener?: { maxConnections: number; maxConnectionsPerClient: number };
  build?: 'infergate' | 'baseline';
}

function plans(dimension: Dimension, steps: readonly number[], ports: readonly number[]): StepPlan[] {
  const three = ports.slice(0, 3);
  return steps.map((n) => {
    switch (dimension) {
      case 'backends':
        return { n, description: `1 pool of ${n} backends, no routes`, pools: [{ name: 'main', ports: ports.slice(0, n) }], routes: null, paths: ['/predictions/bench'] };
      case 'pools': {
        // One route per pool (a path prefix), requests spread over all of them: what a multi-model gateway looks like.
        const pools = Array.from({ length: n }, (_, i) => ({ name: `p${i}`, ports: three }));
        const routes = pools.map((p) => ({ name: p.name, match: { pathPrefix: `/${p.name}/` }, pool: p.name }));
        return { n, description: `${n} pools of 3 backends, ${n} prefix routes, requests spread over all`, pools, routes, paths: pools.map((p) => `/${p.name}/predict`) };
      }
      case 'routes': {
        // Every request matches the last route: first-match routing walks all of them (worst case).
        const routes = Array.from({ length: n }, (_, i) => ({ name: `r${i}`, match: { pathPrefix: `/r${i}/` }, pool: 'main' }));
        return { n, description: `${n} prefix routes to 1 pool of 3, requests match the last`, pools: [{ name: 'main', ports: three }], routes, paths: [`/r${n - 1}/predict`] };
      }
      default: {
        const never: never = dimension;
        throw new Error(`unknown dimension ${String(never)}`);
      }
    }
  });
}

async function runDimension(dimension: Dimension | 'backends-saturated', stepPlans: readonly StepPlan[], opts: { rounds: number; durationSec: number; warmupSec: number; idleSec: number; connections: number }): Promise<StepResult[]> {
  const started: Array<{ plan: StepPlan; ig: Infergate; idle: number; rss: number; loads: Load[] }> = [];
  try {
    for (const plan of stepPlans) {
      process.stderr.write(`[bench] growth ${dimension} ${plan.n}: starting infergate\n`);
      const build = plan.build ?? 'infergate';
      const ig = await startInfergate(`${build}-${dimension}-${plan.n}`, plan.pools, plan.routes, plan.listener ?? null, build === 'baseline' ? (BASELINE_CLI ?? INFERGATE_CLI) : INFERGATE_CLI);
      started.push({ plan, ig, idle: 0, rss: 0, loads: [] });
    }
    // Probe cost: all steps are up, none gets traffic; each process's own CPU over the same seconds.
    await sleep(1000);
    const idles = await Promise.all(started.map((s) => idleCpu(s.ig.pid, opts.idleSec)));
    started.forEach((s, i) => {
      s.idle = idles[i] ?? 0;
      s.rss = readRssMB(s.ig.pid) ?? Number.NaN;
    });
    for (let r = 1; r <= opts.rounds; r++) {
      // Odd rounds small to large, even rounds large to small: no step always follows the same neighbour.
      const order = r % 2 === 1 ? started : [...started].reverse();
      for (const s of order) {
        const connections = s.plan.connections ?? opts.connections;
        process.stderr.write(`[bench] growth ${dimension} ${s.plan.n} ${s.plan.build ?? 'infergate'} round ${r}/${opts.rounds}\n`);
        await measure(s.ig.pid, s.ig.port, s.plan.paths, connections, opts.warmupSec, s.idle);
        s.loads.push(await measure(s.ig.pid, s.ig.port, s.plan.paths, connections, opts.durationSec, s.idle));
      }
    }
  } finally {
    await Promise.allSettled(started.map((s) => s.ig.stop()));
  }
  return started.map(({ plan, idle, rss, loads }) => {
    const backendsTotal = plan.pools.reduce((n, p) => n + p.ports.length, 0);
    return {
      dimension,
      n: plan.n,
      build: plan.build ?? 'infergate',
      description: plan.description,
      backendsTotal,
      probesPerSec: backendsTotal,
      idleCpuMsPerSec: round(idle, 2),
      idleRssMB: round(rss, 1),
      rounds: loads,
      bestReqPerSec: loads.reduce((a, b) => (b.requestsPerSec > a.requestsPerSec ? b : a)),
      lowestCpuUs: Math.min(...loads.map((l) => l.cpuUs)),
      lowestNetCpuUs: Math.min(...loads.map((l) => l.netCpuUs)),
    };
  });
}

async function runStreams(steps: readonly number[], ports: readonly number[], opts: { holdSec: number; durationSec: number; warmupSec: number; connections: number; intervalMs: number }): Promise<{ steps: StreamStep[]; notes: string[] }> {
  const notes: string[] = [];
  const fdLimit = openFileLimit() ?? 1024;
  // Each proxied stream holds two descriptors in infergate (client socket + backend connection); keep 500 for the
  // listeners, probes, the small-request load and Node itself.
  const maxStreams = Math.floor((fdLimit - 500) / 2);
  const out: StreamStep[] = [];
  for (const wanted of steps) {
    const streams = Math.min(wanted, maxStreams);
    if (streams < wanted) {
      notes.push(
        `streams: ${wanted} asked, ${streams} held: each stream holds 2 descriptors in infergate (client + backend socket) and the ` +
          `open-file limit is ${fdLimit} (hard limit; not raisable in this container), so ${wanted} streams need more than the process may open.`,
      );
    }
    // Backends: 10 ports, each allowed enough connections for its share (upstream.connections is also the per-backend in-flight cap).
    const perBackend = Math.ceil(streams / ports.length) + opts.connections + 16;
    const ig = await startInfergate(
      `infergate-streams-${wanted}`,
      [{ name: 'main', ports, extra: { upstream: { connections: perBackend } } }],
      null,
      // auto would be ~half the descriptor limit in total and a quarter per client: every bench socket comes from 127.0.0.1.
      { maxConnections: streams + opts.connections + 200, maxConnectionsPerClient: 0 },
    );
    const holder = sseHolder(ig.port, `/sse?interval=${opts.intervalMs}`);
    try {
      // Warm up what any stream and any request first allocates (code, buffers, metric children), so that the RSS
      // difference below is the streams' own: 100 streams opened and closed, one second of small requests.
      const warm = sseHolder(ig.port, `/sse?interval=${opts.intervalMs}`);
      await warm.openStreams(Math.min(100, streams));
      await sleep(1500);
      await warm.close();
      await measure(ig.pid, ig.port, ['/predictions/bench'], opts.connections, 1, 0);
      await sleep(1500);
      const idleRssMB = readRssMB(ig.pid) ?? Number.NaN;
      const idle = await idleCpu(ig.pid, 2);
      process.stderr.write(`[bench] growth streams ${streams}: opening\n`);
      const t0 = performance.now();
      await holder.openStreams(streams);
      process.stderr.write(`[bench] growth streams ${streams}: ${holder.open} open, ${holder.failed} failed in ${fixed((performance.now() - t0) / 1000, 1)} s\n`);
      // Let the open burst's garbage go and the event phases spread over the interval.
      await sleep(3000);
      holder.resetCounters();
      const cpu0 = cpuMs(ig.pid) ?? 0;
      const h0 = performance.now();
      await sleep(opts.holdSec * 1000);
      const heldSec = (performance.now() - h0) / 1000;
      const cpuHeld = (cpuMs(ig.pid) ?? 0) - cpu0;
      const rssWithStreamsMB = readRssMB(ig.pid) ?? Number.NaN;
      const events = holder.events;
      const delay = holder.delayUs;
      const eventsPerSec = events / heldSec;
      const cpuMsPerSec = cpuHeld / heldSec;
      // The cost of an event: CPU above the idle process's, per event delivered.
      const cpuUsPerEvent = events > 0 ? ((cpuHeld - idle * heldSec) * 1000) / events : Number.NaN;
      process.stderr.write(`[bench] growth streams ${streams}: small requests alongside\n`);
      await measure(ig.pid, ig.port, ['/predictions/bench'], opts.connections, opts.warmupSec, cpuMsPerSec);
      // netCpuUs here: less the CPU the open streams (events, timers) take per second, measured just before.
      const load = await measure(ig.pid, ig.port, ['/predictions/bench'], opts.connections, opts.durationSec, cpuMsPerSec);
      const opened = holder.open;
      out.push({
        streams,
        opened,
        failed: holder.failed,
        idleRssMB: round(idleRssMB, 1),
        rssWithStreamsMB: round(rssWithStreamsMB, 1),
        rssPerStreamKB: round(((rssWithStreamsMB - idleRssMB) * 1024) / Math.max(1, opened), 2),
        marginalKBPerStream: out.length === 0 ? null : round(((rssWithStreamsMB - out[out.length - 1]!.rssWithStreamsMB) * 1024) / Math.max(1, opened - out[out.length - 1]!.opened), 2),
        eventsPerSec: round(eventsPerSec, 1),
        cpuMsPerSec: round(cpuMsPerSec, 1),
        cpuUsPerEvent: round(cpuUsPerEvent, 1),
        eventDelayP50Ms: delay.count > 0 ? round(delay.percentile(50) / 1000) : Number.NaN,
        eventDelayP99Ms: delay.count > 0 ? round(delay.percentile(99) / 1000) : Number.NaN,
        load,
      });
    } finally {
      await holder.close();
      await ig.stop();
    }
  }
  return { steps: out, notes };
}

function steps(name: string, fallback: string): number[] {
  return (process.env[name] ?? fallback).split(',').map((s) => Number(s.trim())).filter((n) => Number.isInteger(n) && n > 0);
}

const METHOD =
  'Fake backends: one process (servers/growth-backend.ts) listening on 300 loopback ports, one backend per port. ' +
  'Every step of a dimension is its own infergate process (default balancer, default readiness probe GET /health every 1 s); ' +
  'all steps of a dimension run at once and are measured in interleaved rounds (odd rounds small to large, even rounds large to small), ' +
  'each measured run after a discarded warm-up; req/s and latencies from the best round, CPU from the lowest round. ' +
  'autocannon in the bench process, 50 connections, GET with a 73-byte JSON answer. Before any load, each process idles for a few ' +
  'seconds: its CPU then (ms per second) is what its probes cost; "net CPU µs/response" subtracts that idle rate over the run. ' +
  'Streams: one infergate per step, 10 backends, SSE streams held by a raw-socket client in the bench process, one event per ' +
  'stream per interval; memory per stream = (RSS with streams open - RSS before) / streams; CPU per event = CPU while held ' +
  'less idle CPU, per event received; then small requests alongside the open streams.';

export async function runGrowth(): Promise<void> {
  const rounds = Math.round(envNumber('BENCH_ROUNDS', 2));
  const durationSec = envNumber('BENCH_DURATION', 5);
  const warmupSec = envNumber('BENCH_WARMUP', 2);
  const idleSec = envNumber('BENCH_GROWTH_IDLE', 4);
  const connections = envNumber('BENCH_CONNECTIONS', 50);
  const holdSec = envNumber('BENCH_GROWTH_HOLD', 10);
  const intervalMs = envNumber('BENCH_GROWTH_EVENT_MS', 1000);
  const wanted = (process.env.BENCH_GROWTH_DIMENSIONS ?? 'backends,pools,routes,saturated,streams').split(',').map((s) => s.trim());
  const dims = {
    backends: steps('BENCH_GROWTH_BACKENDS', '3,30,300'),
    pools: steps('BENCH_GROWTH_POOLS', '1,10,50'),
    routes: steps('BENCH_GROWTH_ROUTES', '1,50,200'),
    streams: steps('BENCH_GROWTH_STREAMS', '10,1000,10000'),
  };
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  const backend = await startBackends(Math.max(...dims.backends, 10));
  const results: StepResult[] = [];
  let streams: StreamStep[] = [];
  const notes: string[] = [];
  try {
    const opts = { rounds, durationSec, warmupSec, idleSec, connections };
    // With BENCH_BASELINE_CLI, every step also runs on that build, right beside this one, in the same rounds.
    const withBaseline = (list: StepPlan[]): StepPlan[] =>
      BASELINE_CLI === undefined ? list : list.flatMap((p) => [p, { ...p, build: 'baseline' as const }]);
    for (const dimension of ['backends', 'pools', 'routes'] as const) {
      if (!wanted.includes(dimension)) continue;
      results.push(...(await runDimension(dimension, withBaseline(plans(dimension, dims[dimension], backend.ports)), opts)));
    }
    if (wanted.includes('saturated')) {
      // Every backend at its limit and requests waiting: each response's end wakes the queue (cluster.ts #wake).
      const sat = dims.backends.map((n): StepPlan => ({
        n,
        description: `1 pool of ${n} backends, maxConcurrent 1, ${Math.max(...dims.backends) + 100} connections (queue never empty)`,
        pools: [{ name: 'main', ports: backend.ports.slice(0, n), extra: { maxConcurrent: 1, queue: { max: 5000, timeout: '30s' } } }],
        routes: null,
        paths: ['/predictions/bench'],
        connections: Math.max(...dims.backends) + 100,
      }));
      results.push(...(await runDimension('backends-saturated', withBaseline(sat), opts)));
    }
    if (wanted.includes('streams')) {
      const s = await runStreams(dims.streams, backend.ports.slice(0, 10), { holdSec, durationSec, warmupSec, connections, intervalMs });
      streams = s.steps;
      notes.push(...s.notes);
    }
  } finally {
    await backend.child.stop();
  }

  const finishedAt = new Date().toISOString();
  for (const dimension of ['backends', 'pools', 'routes', 'backends-saturated'] as const) {
    const rows = results.filter((r) => r.dimension === dimension);
    if (rows.length === 0) continue;
    const firstOf = (build: string): StepResult => rows.find((r) => r.build === build)!;
    console.log(`\n### growth: ${dimension} (${connections} connections unless said, ${durationSec}s runs, ${rounds} round(s))\n`);
    console.log(
      markdownTable(
        ['n', 'setup', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'CPU µs/resp', 'net CPU µs/resp', 'x net vs first', 'idle CPU ms/s (probes)', 'probes/s', 'idle RSS MB', 'req/s per round'],
        rows.map((r) => [
          r.build === 'baseline' ? `${r.n} (baseline)` : String(r.n),
          r.description,
          fixed(r.bestReqPerSec.requestsPerSec, 0),
          fixed(r.bestReqPerSec.p50Ms),
          fixed(r.bestReqPerSec.p99Ms),
          String(r.rounds.reduce((n, l) => n + l.errors, 0)),
          fixed(r.lowestCpuUs, 1),
          fixed(r.lowestNetCpuUs, 1),
          `${fixed(r.lowestNetCpuUs / firstOf(r.build).lowestNetCpuUs)}x`,
          fixed(r.idleCpuMsPerSec, 1),
          String(r.probesPerSec),
          fixed(r.idleRssMB, 0),
          r.rounds.map((l) => fixed(l.requestsPerSec, 0)).join(' / '),
        ]),
      ),
    );
  }
  if (streams.length > 0) {
    console.log(`\n### growth: SSE streams held open (one event per stream every ${intervalMs} ms, ${holdSec}s hold)\n`);
    console.log(
      markdownTable(
        ['streams', 'open / failed', 'RSS before MB', 'RSS open MB', 'KB per stream', 'KB per stream, vs previous step', 'events/s', 'CPU ms/s', 'CPU µs/event', 'event delay p50 / p99 ms', `small req/s alongside`, 'p50 / p99 ms', 'CPU µs/resp (net of streams)'],
        streams.map((s) => [
          String(s.streams),
          `${s.opened} / ${s.failed}`,
          fixed(s.idleRssMB, 0),
          fixed(s.rssWithStreamsMB, 0),
          fixed(s.rssPerStreamKB, 1),
          s.marginalKBPerStream === null ? '-' : fixed(s.marginalKBPerStream, 1),
          fixed(s.eventsPerSec, 0),
          fixed(s.cpuMsPerSec, 0),
          // Below ~100 events/s the idle process's own noise (probes, GC) is larger than the events' cost.
          s.eventsPerSec < 100 ? '-' : fixed(s.cpuUsPerEvent, 1),
          `${fixed(s.eventDelayP50Ms)} / ${fixed(s.eventDelayP99Ms)}`,
          s.load === null ? '-' : fixed(s.load.requestsPerSec, 0),
          s.load === null ? '-' : `${fixed(s.load.p50Ms)} / ${fixed(s.load.p99Ms)}`,
          s.load === null ? '-' : `${fixed(s.load.cpuUs, 0)} (${fixed(s.load.netCpuUs, 0)})`,
        ]),
      ),
    );
  }
  for (const note of notes) console.log(`\n> ${note}`);
  const partial = !['backends', 'pools', 'routes', 'saturated', 'streams'].every((d) => wanted.includes(d)) || BASELINE_CLI !== undefined || process.env.BENCH_GROWTH_BACKENDS !== undefined || process.env.BENCH_GROWTH_STREAMS !== undefined;
  const path = await writeReport(
    {
      scenario: 'growth',
      startedAt,
      finishedAt,
      machine,
      parameters: { openFileLimit: openFileLimit(), rounds, durationSec, warmupSec, idleSec, connections, holdSec, intervalMs, dims, dimensions: wanted, infergateCli: INFERGATE_CLI, baselineCli: BASELINE_CLI ?? null },
      method: METHOD,
      results: { steps: results, streams },
      notes,
    },
    { partial },
  );
  console.log(`\nJSON: ${path}`);
}

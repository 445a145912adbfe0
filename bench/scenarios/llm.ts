/**
 * Issue 12: balancing LLM servers by what they say about their load, against the balancers people use today.
 *
 * Part 1, fake vLLM fleet: four replicas of lib/llm-engine.ts (continuous batching, a KV-cache budget, chunked
 * prefill saved by prefix-cache hits, decode cost growing with the batch, SSE token streams, vLLM's /metrics), one of
 * them three times slower. The fleet's capacity is measured first (each replica kept full by its own closed loop: a
 * perfect dispatcher), then Poisson arrivals of a prefix-sharing prompt mix at 50 / 80 / 95 % of it go through
 * each balancer in turn, in rounds that rotate the order. Reported per balancer and load: TTFT p50 / p99,
 * end-to-end p99, completed requests and tokens per second, failures, and the slow replica's share of requests.
 *
 * Part 2, real CPU model: three Python numpy MLP servers (servers/mlp_server.py), one three times slower, paced
 * POSTs; p50 / p99 per balancer.
 *
 * `node bench/run.ts llm` (~7 min); `node bench/run.ts llm --quick` (~2 min smoke run).
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnChild } from '../lib/children.ts';
import { cpuMs } from '../lib/cpu.ts';
import type { EngineConfig } from '../lib/llm-engine.ts';
import { measureCapacity, runSchedule, summariseStreams, type StreamSummary } from '../lib/llm-client.ts';
import { makeRequest, makeWorkload, poissonSchedule, seededRandom } from '../lib/llm-workload.ts';
import { machineInfo } from '../lib/machine.ts';
import { pacedPosts } from '../lib/paced-posts.ts';
import { waitForStatus } from '../lib/net.ts';
import {
  POOL_LABELS,
  haproxyLeastConnConfig,
  nginxLeastConnConfig,
  selectPoolTargets,
  startPoolTargets,
  stopPoolTargets,
  type PoolTargetName,
  type PoolTargetSkipped,
} from '../lib/pool-targets.ts';
import { INFERGATE_CLI } from '../lib/targets.ts';
import { RESULTS_DIR, envNumber, fixed, markdownTable, percentile, round, writeReport } from '../lib/report.ts';
import { ratioOf } from '../lib/rounds.ts';
import { barChartSvg } from '../lib/svg-chart.ts';

const BENCH_DIR = dirname(dirname(fileURLToPath(import.meta.url)));

/** A 7B-class model on one GPU, time-scaled so a 2-core machine can drive four replicas: see the README's table. */
const ENGINE: Omit<EngineConfig, 'slowdown'> = {
  maxRunning: 16,
  maxBatchedTokens: 2048,
  kvBlocks: 1000,
  blockTokens: 16,
  stepBaseMs: 10,
  stepMsPerSeq: 0.5,
  prefillMsPerToken: 0.025,
};
const SLOWDOWNS = [1, 1, 1, 3];
const CPU_SLOWDOWNS = [1, 1, 3];

function quickMode(): boolean {
  return process.env.BENCH_QUICK === '1';
}

interface Fleet {
  ports: number[];
  controlUrl: string;
  stop(): Promise<void>;
}

interface ReplicaStats {
  port: number;
  waiting: number;
  running: number;
  finished: number;
  preemptions: number;
  prefixQueryTokens: number;
  prefixHitTokens: number;
}

async function startLlmFleet(): Promise<Fleet> {
  const child = spawnChild('llm-fleet', process.execPath, ['--no-warnings', join(BENCH_DIR, 'servers', 'llm-fleet.ts'), JSON.stringify({ slowdowns: SLOWDOWNS, engine: ENGINE })]);
  const line = await new Promise<{ port: number; backends: number[] }>((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Error(`llm-fleet did not start:\n${child.tail()}`)), 10_000);
    child.proc.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const nl = buffered.indexOf('\n');
      if (nl === -1) return;
      clearTimeout(timer);
      resolve(JSON.parse(buffered.slice(0, nl)) as { port: number; backends: number[] });
    });
  });
  return { ports: line.backends, controlUrl: `http://127.0.0.1:${line.port}`, stop: () => child.stop() };
}

async function fleetStats(fleet: Fleet): Promise<ReplicaStats[]> {
  const res = await fetch(`${fleet.controlUrl}/stats`, { signal: AbortSignal.timeout(5000) });
  return (await res.json()) as ReplicaStats[];
}

/** Waits (bounded) until no replica runs or queues anything, then clears every prefix cache: each cell starts cold. */
async function settle(fleet: Fleet): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const res = await fetch(`${fleet.controlUrl}/reset`, { method: 'POST', signal: AbortSignal.timeout(5000) });
    await res.arrayBuffer();
    if (res.status === 200) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the fleet did not go idle within 60 s');
}

interface LlmCell {
  target: PoolTargetName;
  loadPercent: number;
  round: number;
  rateRps: number;
  summary: StreamSummary;
  /** Share of completed requests per replica (the last one is the slow replica). */
  replicaShare: number[];
  preemptions: number;
  prefixHitPercent: number;
  /** CPU the balancer's process tree spent per request sent (ms): on a shared 2-core machine, the cost of its hop. */
  proxyCpuMsPerRequest: number | null;
  /** 1-minute load average at the end of the run: above the core count, every process waits for CPU. */
  loadAverage: number;
}

interface CpuCell {
  target: PoolTargetName;
  round: number;
  sent: number;
  ok: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  replicaShare: number[];
  proxyCpuMsPerRequest: number | null;
  loadAverage: number;
}

function rotate<T>(items: readonly T[], by: number): T[] {
  const shift = items.length === 0 ? 0 : by % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

function pct(values: readonly number[]): number[] {
  const total = values.reduce((a, b) => a + b, 0);
  return values.map((v) => (total === 0 ? 0 : round((100 * v) / total, 1)));
}

function ms(value: number | null | undefined, limitMs: number): string {
  if (value === null || value === undefined) return 'n/a';
  if (!Number.isFinite(value)) return `> ${fixed(limitMs / 1000, 0)} s (unfinished)`;
  return fixed(value, 0);
}

async function runLlmPart(names: readonly PoolTargetName[], durationSec: number, rounds: number, loads: readonly number[], drainMs: number) {
  const fleet = await startLlmFleet();
  const workload = makeWorkload();
  const cells: LlmCell[] = [];
  let skipped: PoolTargetSkipped[] = [];
  let capacity = { requestsPerSec: 0, perReplica: [] as number[] };
  try {
    for (const port of fleet.ports) await waitForStatus(`http://127.0.0.1:${port}/health`, 200, 10_000);
    process.stderr.write('[bench] llm: measuring the fleet capacity (each replica kept full by its own closed loop)\n');
    const random = seededRandom(99);
    let n = 0;
    capacity = await measureCapacity(
      fleet.ports.map((p) => `http://127.0.0.1:${p}`),
      ENGINE.maxRunning + 4,
      () => makeRequest(workload, random, n++),
      quickMode() ? 3000 : 4000,
      quickMode() ? 6000 : 12_000,
    );
    process.stderr.write(`[bench] llm: capacity ${capacity.requestsPerSec} req/s (per replica ${capacity.perReplica.join(' / ')})\n`);
    await settle(fleet);
    const started = await startPoolTargets(names, fleet.ports, '/health');
    skipped = started.skipped;
    try {
      for (const [li, load] of loads.entries()) {
        const rate = (capacity.requestsPerSec * load) / 100;
        for (let r = 1; r <= rounds; r += 1) {
          const schedule = poissonSchedule(workload, rate, durationSec, 1000 * r + li);
          for (const target of rotate(started.running, r - 1 + li)) {
            await settle(fleet);
            process.stderr.write(`[bench] llm ${load}% (${fixed(rate, 1)} req/s) round ${r}/${rounds}: ${target.name}\n`);
            const before = await fleetStats(fleet);
            const cpuBefore = cpuMs(target.pid);
            const { results } = await runSchedule(target.url, schedule, { drainLimitMs: drainMs });
            const cpuAfter = cpuMs(target.pid);
            const after = await fleetStats(fleet);
            const finished = after.map((s, i) => s.finished - (before[i]?.finished ?? 0));
            const queried = after.reduce((sum, s, i) => sum + s.prefixQueryTokens - (before[i]?.prefixQueryTokens ?? 0), 0);
            const hit = after.reduce((sum, s, i) => sum + s.prefixHitTokens - (before[i]?.prefixHitTokens ?? 0), 0);
            cells.push({
              target: target.name,
              loadPercent: load,
              round: r,
              rateRps: round(rate, 2),
              summary: summariseStreams(results, durationSec * 1000),
              replicaShare: pct(finished),
              preemptions: after.reduce((sum, s, i) => sum + s.preemptions - (before[i]?.preemptions ?? 0), 0),
              prefixHitPercent: queried === 0 ? 0 : round((100 * hit) / queried, 1),
              proxyCpuMsPerRequest: cpuBefore === undefined || cpuAfter === undefined || results.length === 0 ? null : round((cpuAfter - cpuBefore) / results.length, 2),
              loadAverage: round(os.loadavg()[0] ?? 0, 2),
            });
          }
        }
      }
    } finally {
      await stopPoolTargets(started.running);
    }
  } finally {
    await fleet.stop();
  }
  return { cells, skipped, capacity };
}

/** Pools every round's requests of one target at one load: percentiles over all of them. */
function pooled(cells: readonly LlmCell[], target: PoolTargetName, load: number) {
  const mine = cells.filter((c) => c.target === target && c.loadPercent === load);
  if (mine.length === 0) return null;
  const avg = (pick: (c: LlmCell) => number): number => round(mine.reduce((s, c) => s + pick(c), 0) / mine.length, 2);
  const worst = (pick: (c: LlmCell) => number): number => Math.max(...mine.map(pick));
  return {
    target,
    loadPercent: load,
    rateRps: mine[0]?.rateRps ?? 0,
    // Per-round p99s are combined by their median (rounds are few; pooling raw samples would need them all kept).
    ttftP50Ms: medianOf(mine.map((c) => c.summary.ttftP50Ms)),
    ttftP99Ms: medianOf(mine.map((c) => c.summary.ttftP99Ms)),
    e2eP99Ms: medianOf(mine.map((c) => c.summary.e2eP99Ms)),
    throughputRps: avg((c) => c.summary.throughputRps),
    tokensPerSec: avg((c) => c.summary.tokensPerSec),
    failed: mine.reduce((s, c) => s + c.summary.failed, 0),
    sent: mine.reduce((s, c) => s + c.summary.sent, 0),
    slowShare: avg((c) => c.replicaShare.at(-1) ?? 0),
    prefixHitPercent: avg((c) => c.prefixHitPercent),
    preemptions: worst((c) => c.preemptions),
    ttftP99PerRound: mine.map((c) => c.summary.ttftP99Ms),
    proxyCpuMsPerRequest: medianOf(mine.map((c) => c.proxyCpuMsPerRequest ?? Number.NaN).filter((v) => !Number.isNaN(v))),
    loadAverages: mine.map((c) => c.loadAverage),
  };
}

function medianOf(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

// ---- part 2: real CPU model servers ----

interface CpuFleet {
  ports: number[];
  stop(): Promise<void>;
}

function pythonWithNumpy(): string | null {
  const result = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' });
  return result.status === 0 ? null : `python3 with numpy not available: ${(result.stderr ?? '').trim().split('\n').at(-1) ?? result.error?.message ?? ''}`;
}

async function startCpuFleet(): Promise<CpuFleet> {
  const children = CPU_SLOWDOWNS.map((slowdown, i) =>
    spawnChild(`mlp-${i}`, 'python3', [join(BENCH_DIR, 'servers', 'mlp_server.py'), String(slowdown)], { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' }),
  );
  // Every listener attached before any output: a child that prints its port early must not be missed.
  const ports = await Promise.all(
    children.map(
      (child) =>
        new Promise<number>((resolve, reject) => {
          let buffered = '';
          const timer = setTimeout(() => reject(new Error(`${child.name} did not start:\n${child.tail()}`)), 30_000);
          child.proc.stdout?.on('data', (chunk: Buffer) => {
            buffered += chunk.toString('utf8');
            const nl = buffered.indexOf('\n');
            if (nl === -1) return;
            clearTimeout(timer);
            resolve((JSON.parse(buffered.slice(0, nl)) as { port: number }).port);
          });
        }),
    ),
  ).catch(async (error: unknown) => {
    await Promise.allSettled(children.map((c) => c.stop()));
    throw error;
  });
  return { ports, stop: async () => void (await Promise.allSettled(children.map((c) => c.stop()))) };
}

async function runCpuPart(names: readonly PoolTargetName[], rateRps: number, durationSec: number, rounds: number) {
  const fleet = await startCpuFleet();
  const cells: CpuCell[] = [];
  let skipped: PoolTargetSkipped[] = [];
  const random = seededRandom(5);
  const body = JSON.stringify({ inputs: Array.from({ length: 256 }, () => round(random() * 2 - 1, 4)) });
  try {
    for (const port of fleet.ports) await waitForStatus(`http://127.0.0.1:${port}/health`, 200, 30_000);
    const started = await startPoolTargets(names, fleet.ports, '/health');
    skipped = started.skipped;
    try {
      for (let r = 1; r <= rounds; r += 1) {
        for (const target of rotate(started.running, r - 1)) {
          process.stderr.write(`[bench] llm cpu-model ${rateRps} req/s round ${r}/${rounds}: ${target.name}\n`);
          await pacedPosts(`${target.url}/predict`, body, rateRps, 1); // warm-up, discarded
          const cpuBefore = cpuMs(target.pid);
          const measured = await pacedPosts(`${target.url}/predict`, body, rateRps, durationSec);
          const cpuAfter = cpuMs(target.pid);
          const ok = measured.filter((s) => s.status === 200);
          const latencies = ok.map((s) => s.latencyMs);
          const byReplica = fleet.ports.map((p) => ok.filter((s) => s.servedBy === String(p)).length);
          cells.push({
            target: target.name,
            round: r,
            sent: measured.length,
            ok: ok.length,
            errors: measured.length - ok.length,
            p50Ms: round(percentile(latencies, 50), 1),
            p99Ms: round(percentile(latencies, 99), 1),
            replicaShare: pct(byReplica),
            proxyCpuMsPerRequest: cpuBefore === undefined || cpuAfter === undefined || measured.length === 0 ? null : round((cpuAfter - cpuBefore) / measured.length, 3),
            loadAverage: round(os.loadavg()[0] ?? 0, 2),
          });
        }
      }
    } finally {
      await stopPoolTargets(started.running);
    }
  } finally {
    await fleet.stop();
  }
  return { cells, skipped };
}

// ---- the scenario ----

export async function runLlm(): Promise<void> {
  const quick = quickMode();
  const durationSec = envNumber('BENCH_LLM_DURATION', quick ? 4 : 8);
  const rounds = Math.round(envNumber('BENCH_ROUNDS', quick ? 1 : 2));
  const loads = (process.env.BENCH_LLM_LOADS ?? '50,80,95').split(',').map(Number).filter((n) => n > 0);
  const drainMs = envNumber('BENCH_LLM_DRAIN', quick ? 8 : 10) * 1000;
  const cpuRate = envNumber('BENCH_CPU_RATE', 120);
  const cpuDurationSec = envNumber('BENCH_CPU_DURATION', quick ? 3 : 6);
  const runCpu = process.env.BENCH_LLM_CPU !== '0' && (process.env.BENCH_LLM_PARTS ?? 'cpu').includes('cpu');
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  const names = selectPoolTargets();

  // BENCH_LLM_PARTS=cpu (or fleet): one part only, e.g. to rerun the CPU-model table alone.
  const parts = (process.env.BENCH_LLM_PARTS ?? 'fleet,cpu').split(',').map((p) => p.trim());
  const llm = parts.includes('fleet') ? await runLlmPart(names, durationSec, rounds, loads, drainMs) : { cells: [], skipped: [], capacity: { requestsPerSec: 0, perReplica: [] } };
  const noPython = runCpu ? pythonWithNumpy() : 'not selected (BENCH_LLM_CPU=0 or BENCH_LLM_PARTS)';
  let cpuError: string | null = noPython;
  let cpu: Awaited<ReturnType<typeof runCpuPart>> | null = null;
  if (noPython === null) {
    try {
      // Prefix affinity reads OpenAI-style prompts; the MLP's POSTs carry none, so that row would repeat load-aware's.
      cpu = await runCpuPart(names.filter((n) => n !== 'infergate-affinity'), cpuRate, cpuDurationSec, rounds);
    } catch (error) {
      // The first part's results are worth keeping whatever happens to the second.
      cpuError = error instanceof Error ? error.message : String(error);
      process.stderr.write(`[bench] llm cpu-model part failed: ${cpuError}\n`);
    }
  }

  // ---- tables ----
  const rows = loads.flatMap((load) => names.map((name) => pooled(llm.cells, name, load)).filter((r) => r !== null));
  const out: string[] = [];
  out.push(
    `### llm: fake vLLM fleet (${SLOWDOWNS.length} replicas, slowdowns ${SLOWDOWNS.join(' / ')}), capacity ${fixed(llm.capacity.requestsPerSec, 1)} req/s measured, ` +
      `Poisson arrivals, ${durationSec} s per run, ${rounds} round(s)${quick ? ' (--quick)' : ''}\n`,
  );
  out.push(
    markdownTable(
      ['balancer', 'load', 'req/s sent', 'TTFT p50 ms', 'TTFT p99 ms', 'e2e p99 ms', 'done req/s', 'tokens/s', 'failed', 'slow replica share', 'prefix hit', 'balancer CPU ms/req', 'TTFT p99 per round', 'load avg per round'],
      [
        ...rows.map((r) => [
          POOL_LABELS[r.target],
          `${r.loadPercent} %`,
          fixed(r.sent / (durationSec * rounds), 1),
          ms(r.ttftP50Ms, drainMs),
          ms(r.ttftP99Ms, drainMs),
          ms(r.e2eP99Ms, drainMs),
          fixed(r.throughputRps, 1),
          fixed(r.tokensPerSec, 0),
          `${r.failed} / ${r.sent}`,
          `${fixed(r.slowShare, 1)} %`,
          `${fixed(r.prefixHitPercent, 0)} %`,
          fixed(r.proxyCpuMsPerRequest, 2),
          r.ttftP99PerRound.map((v) => ms(v, drainMs)).join(' / '),
          r.loadAverages.map((v) => fixed(v, 1)).join(' / '),
        ]),
        ...llm.skipped.map((s) => [POOL_LABELS[s.name], '-', '-', 'not available', '-', '-', '-', '-', '-', '-', '-', '-', s.reason, '-']),
      ],
    ),
  );
  const at80 = (name: PoolTargetName): number | null => rows.find((r) => r.target === name && r.loadPercent === 80)?.ttftP99Ms ?? null;
  const ratios = (['infergate-load-aware', 'infergate-affinity', 'infergate-least-request', 'nginx-least-conn', 'haproxy-leastconn'] as const).map((name) => {
    const value = ratioOf(at80(name), at80('infergate-round-robin'));
    return { name: `${POOL_LABELS[name]} / infergate round-robin`, value, goal: name === 'infergate-load-aware' ? '<= 0.5' : null, pass: name === 'infergate-load-aware' && value !== null ? value <= 0.5 : null };
  });
  // Round-robin is the issue's yardstick; the balancers people would otherwise pick are the harder one (no goal set).
  for (const peer of ['infergate-least-request', 'nginx-least-conn', 'haproxy-leastconn'] as const) {
    ratios.push({ name: `${POOL_LABELS['infergate-load-aware']} / ${POOL_LABELS[peer]}`, value: ratioOf(at80('infergate-load-aware'), at80(peer)), goal: null, pass: null });
  }
  for (const peer of ['infergate-load-aware', 'haproxy-leastconn'] as const) {
    ratios.push({ name: `${POOL_LABELS['infergate-affinity']} / ${POOL_LABELS[peer]}`, value: ratioOf(at80('infergate-affinity'), at80(peer)), goal: null, pass: null });
  }
  out.push('');
  out.push(
    markdownTable(
      ['TTFT p99 at 80 % load', 'ratio', 'goal', 'result'],
      ratios.map((r) => [r.name, r.value === null ? 'n/a' : `${fixed(r.value)}x`, r.goal ?? '-', r.pass === null ? (r.goal === null ? '-' : 'not measured') : r.pass ? 'pass' : 'MISS']),
    ),
  );

  // A CPU-only run (BENCH_LLM_PARTS=cpu) prints no empty fleet tables.
  if (!parts.includes('fleet')) out.length = 0;
  let cpuRows: Array<{ target: PoolTargetName; p50Ms: number; p99Ms: number; errors: number; sent: number; slowShare: number; p99PerRound: number[]; proxyCpuMsPerRequest: number; loadAverages: number[] }> = [];
  const cpuRatios: Array<{ name: string; value: number | null; goal: string; pass: boolean | null }> = [];
  if (cpu !== null) {
    cpuRows = names.flatMap((name) => {
      const mine = cpu.cells.filter((c) => c.target === name);
      if (mine.length === 0) return [];
      return [
        {
          target: name,
          p50Ms: medianOf(mine.map((c) => c.p50Ms)),
          p99Ms: medianOf(mine.map((c) => c.p99Ms)),
          errors: mine.reduce((s, c) => s + c.errors, 0),
          sent: mine.reduce((s, c) => s + c.sent, 0),
          slowShare: round(mine.reduce((s, c) => s + (c.replicaShare.at(-1) ?? 0), 0) / mine.length, 1),
          p99PerRound: mine.map((c) => c.p99Ms),
          proxyCpuMsPerRequest: medianOf(mine.map((c) => c.proxyCpuMsPerRequest ?? Number.NaN).filter((v) => !Number.isNaN(v))),
          loadAverages: mine.map((c) => c.loadAverage),
        },
      ];
    });
    const haproxyP99 = cpuRows.find((r) => r.target === 'haproxy-leastconn')?.p99Ms ?? null;
    for (const name of ['infergate-load-aware', 'infergate-least-request'] as const) {
      const value = ratioOf(cpuRows.find((r) => r.target === name)?.p99Ms ?? null, haproxyP99);
      cpuRatios.push({ name: `${POOL_LABELS[name]} / HAProxy leastconn`, value, goal: '<= 0.75', pass: value === null ? null : value <= 0.75 });
    }
    out.push('');
    out.push(`### llm (part 2): real CPU model servers (numpy MLP, ${CPU_SLOWDOWNS.length} replicas, slowdowns ${CPU_SLOWDOWNS.join(' / ')}), ${cpuRate} req/s paced, ${cpuDurationSec} s per run, ${rounds} round(s)\n`);
    out.push(
      markdownTable(
        ['balancer', 'p50 ms', 'p99 ms', 'errors', 'slow replica share', 'balancer CPU ms/req', 'p99 per round', 'load avg per round'],
        [
          ...cpuRows.map((r) => [
            POOL_LABELS[r.target],
            fixed(r.p50Ms, 1),
            fixed(r.p99Ms, 1),
            `${r.errors} / ${r.sent}`,
            `${fixed(r.slowShare, 1)} %`,
            fixed(r.proxyCpuMsPerRequest, 3),
            r.p99PerRound.map((v) => fixed(v, 1)).join(' / '),
            r.loadAverages.map((v) => fixed(v, 1)).join(' / '),
          ]),
          ...cpu.skipped.map((s) => [POOL_LABELS[s.name], 'not available', '-', '-', '-', '-', s.reason, '-']),
        ],
      ),
    );
    out.push('');
    out.push(
      markdownTable(
        ['p99, CPU model', 'ratio', 'goal', 'result'],
        cpuRatios.map((r) => [r.name, r.value === null ? 'n/a' : `${fixed(r.value)}x`, r.goal, r.pass === null ? 'not measured' : r.pass ? 'pass' : 'MISS']),
      ),
    );
  } else {
    out.push(`\nCPU model part skipped: ${cpuError}`);
  }
  out.push(`\ninfergate: ${INFERGATE_CLI}${process.env.BENCH_INFERGATE_COMMIT === undefined ? '' : ` (commit ${process.env.BENCH_INFERGATE_COMMIT})`}`);
  out.push(`machine: ${machine.cpus} cores (${machine.cpuModel}), load average at start ${machine.loadAverageAtStart.join(' ')}`);
  const text = out.join('\n');
  console.log(`\n${text}`);

  // ---- chart ----
  // Every selected balancer keeps its colour; one not available draws as n/a.
  const labels = names;
  const series = (pick: (r: NonNullable<ReturnType<typeof pooled>>) => number) =>
    labels.map((name) => ({
      label: POOL_LABELS[name],
      values: loads.map((load) => {
        const row = rows.find((r) => r.target === name && r.loadPercent === load);
        return row === undefined ? null : pick(row);
      }),
    }));
  const groups = loads.map((l) => `${l} % of capacity`);
  const svg = barChartSvg(
    [
      { title: 'TTFT p99 (ms, lower is better)', unit: 'ms', groups, series: series((r) => r.ttftP99Ms), cap: drainMs },
      { title: 'TTFT p50 (ms)', unit: 'ms', groups, series: series((r) => r.ttftP50Ms), cap: drainMs },
      { title: 'completed requests per second (higher is better)', unit: 'req/s', groups, series: series((r) => r.throughputRps) },
    ],
    `infergate llm bench, ${startedAt}: fake vLLM fleet ${SLOWDOWNS.join('/')} slowdowns, capacity ${fixed(llm.capacity.requestsPerSec, 1)} req/s${quick ? ', --quick' : ''}`,
  );

  const partial = quick || (process.env.BENCH_TARGETS ?? '').trim() !== '' || !parts.includes('fleet') || cpu === null;
  const path = await writeReport(
    {
      scenario: 'llm',
      startedAt,
      finishedAt: new Date().toISOString(),
      machine,
      parameters: {
        quick,
        infergateCli: INFERGATE_CLI,
        // e.g. the commit a build in another tree was made from (BENCH_INFERGATE_COMMIT=...), since the path says nothing.
        infergateCommit: process.env.BENCH_INFERGATE_COMMIT ?? null,
        durationSec,
        rounds,
        loads,
        drainLimitMs: drainMs,
        fleet: { slowdowns: SLOWDOWNS, engine: ENGINE },
        capacity: llm.capacity,
        workload: 'lib/llm-workload.ts: 50 % chat (4 system prompts of 200-800 tokens, Zipf), 25 % document questions (3 documents of 1,500-3,500 tokens, Zipf), 15 % long unique prompts (800-3,000), 10 % short prompts with 100-250 output tokens',
        cpu: cpu === null ? null : { slowdowns: CPU_SLOWDOWNS, rateRps: cpuRate, durationSec: cpuDurationSec },
        nginxConfig: nginxLeastConnConfig('<tmp>', 0, [0]),
        haproxyConfig: haproxyLeastConnConfig(0, [0], '/health'),
      },
      method:
        'Fake vLLM fleet in one process (timers, no compute); each balancer in its own process with one worker; load generator in the bench process. ' +
        'Capacity: every replica kept full by its own closed loop (maxRunning + 4 in flight), completions per second. Then per load level and round, one seeded ' +
        'Poisson schedule sent open-loop through each balancer in a rotated order, the fleet idle and its prefix caches cleared before each run; streams still open ' +
        'at the drain limit are aborted and count as failed (their TTFT as infinite). Per balancer and load: medians over rounds of each round\'s percentiles.',
      results: { llm: { rows, cells: llm.cells, skipped: llm.skipped, ratios }, cpu: cpu === null ? { skipped: cpuError } : { rows: cpuRows, cells: cpu.cells, skipped: cpu.skipped, ratios: cpuRatios } },
      notes: [...llm.skipped.map((s) => `${s.name}: ${s.reason}`)],
    },
    { partial },
  );
  await writeFile(path.replace(/\.json$/, '.md'), `${text}\n`);
  await writeFile(path.replace(/\.json$/, '.svg'), svg);
  if (!partial) await writeFile(join(RESULTS_DIR, 'latest-llm.svg'), svg);
  console.log(`\nJSON: ${path}\nSVG:  ${path.replace(/\.json$/, '.svg')}`);
}

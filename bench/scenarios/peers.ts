/**
 * infergate against the proxies a user would otherwise pick, side by side in one run: http-proxy with a keep-alive
 * agent, fastify + @fastify/reply-from, the bare undici loop, nginx and HAProxy with one worker each (infergate runs
 * one). wrk drives the load; rounds are interleaved and rotated; medians and per-round ratios are reported.
 */
import { writeFile } from 'node:fs/promises';
import { cpuSplitMs } from '../lib/cpu.ts';
import { machineInfo } from '../lib/machine.ts';
import { envNumber, fixed, markdownTable, median, round, writeReport } from '../lib/report.ts';
import {
  BASELINE_CLI,
  INFERGATE_CLI,
  TARGET_LABELS as LABELS_ONE_WORKER,
  WORKERS,
  haproxyConfig,
  nginxConfig,
  selectTargets,
  startNginxBackend,
  startTargets,
  stopTargets,
  type Running,
  type Skipped,
  type TargetName,
  withBaseline,
} from '../lib/targets.ts';
import { runWrk, type WrkResult } from '../lib/wrk.ts';

const PEERS: readonly TargetName[] = ['direct', 'infergate', 'undici', 'http-proxy-keepalive', 'fastify', 'nginx', 'haproxy'];
/** The same 73-byte JSON body the `small` scenario's node backend answers. */
const BODY = JSON.stringify({ model: 'bench', version: '1', outputs: [0.12, 0.34, 0.56, 0.78], ok: true });

/** The issue's targets, infergate / peer in req/s, same run; fastify and HAProxy are shown without a goal. */
const GOALS: readonly { peer: TargetName; goal: number | null }[] = [
  { peer: 'http-proxy-keepalive', goal: 2.0 },
  { peer: 'undici', goal: 1.0 },
  { peer: 'nginx', goal: 0.35 },
  { peer: 'fastify', goal: null },
  { peer: 'haproxy', goal: null },
  { peer: 'infergate-baseline', goal: null },
];

type Run = WrkResult & { cpuUsPerRequest: number | null; userUsPerRequest: number | null; sysUsPerRequest: number | null };

/** Labels say how many workers the peers run with (BENCH_WORKERS). */
const TARGET_LABELS = Object.fromEntries(
  Object.entries(LABELS_ONE_WORKER).map(([name, label]) => [
    name,
    WORKERS === 1 ? label : label.replace('1 worker', `${WORKERS} workers`).replace('1 thread', `${WORKERS} threads`) + (name.startsWith('infergate') ? ` (workers: ${WORKERS})` : ''),
  ]),
) as Record<TargetName, string>;

const METHOD =
  'One nginx backend (worker_processes auto, `return 200` with the 73-byte JSON) shared by every target; every proxy in ' +
  'its own process with one worker/thread; wrk (1 thread, keep-alive) as the load generator in its own process. Rounds ' +
  'are interleaved and rotated (round r starts at target r), each measured run preceded by a discarded warm-up run. ' +
  'Reported: median req/s over rounds, every round, median p50/p99, CPU µs per response of the proxy process tree ' +
  '(median over rounds), and per round infergate / peer req/s, with the median of those per-round ratios as the verdict.';

function roundOrder(running: readonly Running[], r: number): Running[] {
  const shift = (r - 1) % running.length;
  const order = [...running.slice(shift), ...running.slice(0, shift)];
  // Keep infergate and its baseline next to each other, trading places every other round.
  const a = order.findIndex((t) => t.name === 'infergate');
  const b = order.findIndex((t) => t.name === 'infergate-baseline');
  if (a !== -1 && b !== -1) {
    const [first, second] = r % 2 === 1 ? [order[a], order[b]] : [order[b], order[a]];
    const rest = order.filter((t) => t.name !== 'infergate' && t.name !== 'infergate-baseline');
    rest.splice(Math.min(a, b, rest.length), 0, first as Running, second as Running);
    return rest;
  }
  return order;
}

export async function runPeers(): Promise<void> {
  const connections = envNumber('BENCH_CONNECTIONS', 50);
  const durationSec = envNumber('BENCH_DURATION', 5);
  const warmupSec = envNumber('BENCH_WARMUP', 1);
  const rounds = Math.round(envNumber('BENCH_ROUNDS', 5));
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  const perTarget = new Map<TargetName, Run[]>();
  let skipped: Skipped[] = [];
  let backendPort = 0;

  const backend = await startNginxBackend(BODY);
  backendPort = backend.port;
  try {
    const started = await startTargets(withBaseline(selectTargets(PEERS)), backend);
    skipped = started.skipped;
    try {
      for (let r = 1; r <= rounds; r += 1) {
        for (const target of roundOrder(started.running, r)) {
          const url = `${target.url}/predictions/bench`;
          process.stderr.write(`[bench] peers round ${r}/${rounds}: ${target.name}\n`);
          await runWrk(url, { connections, durationSec: warmupSec });
          const pid = target.pid ?? backend.pid;
          const before = pid === undefined ? undefined : cpuSplitMs(pid);
          const load = await runWrk(url, { connections, durationSec });
          const after = pid === undefined ? undefined : cpuSplitMs(pid);
          const per = (ms: (c: { userMs: number; sysMs: number }) => number): number | null =>
            before === undefined || after === undefined || load.totalRequests === 0 ? null : round(((ms(after) - ms(before)) * 1000) / load.totalRequests, 1);
          const userUsPerRequest = per((c) => c.userMs);
          const sysUsPerRequest = per((c) => c.sysMs);
          const cpuUsPerRequest = userUsPerRequest === null || sysUsPerRequest === null ? null : round(userUsPerRequest + sysUsPerRequest, 1);
          perTarget.set(target.name, [...(perTarget.get(target.name) ?? []), { ...load, cpuUsPerRequest, userUsPerRequest, sysUsPerRequest }]);
        }
      }
    } finally {
      await stopTargets(started.running);
    }
  } finally {
    await backend.stop();
  }

  const med = (name: TargetName, pick: (run: Run) => number | null): number | null => {
    const values = (perTarget.get(name) ?? []).map(pick).filter((v): v is number => v !== null && Number.isFinite(v));
    return values.length === 0 ? null : median(values);
  };
  const targets = [...perTarget.keys()].map((name) => ({
    target: name,
    label: TARGET_LABELS[name],
    medianRps: med(name, (r) => r.requestsPerSec),
    medianP50Ms: med(name, (r) => r.p50Ms),
    medianP99Ms: med(name, (r) => r.p99Ms),
    medianCpuUsPerResponse: med(name, (r) => r.cpuUsPerRequest),
    medianUserUsPerResponse: med(name, (r) => r.userUsPerRequest),
    medianSysUsPerResponse: med(name, (r) => r.sysUsPerRequest),
    errors: (perTarget.get(name) ?? []).reduce((sum, r) => sum + r.errors, 0),
    rounds: perTarget.get(name) ?? [],
  }));
  const infergateRuns = perTarget.get('infergate') ?? [];
  const ratios = GOALS.filter(({ peer }) => perTarget.has(peer)).map(({ peer, goal }) => {
    const peerRuns = perTarget.get(peer) ?? [];
    const perRound = infergateRuns.flatMap((run, i) => {
      const other = peerRuns[i];
      return other === undefined || other.requestsPerSec === 0 ? [] : [round(run.requestsPerSec / other.requestsPerSec)];
    });
    const value = perRound.length === 0 ? null : round(median(perRound));
    // The same per round for CPU per response (peer / infergate: > 1 means infergate spends less): steadier than req/s.
    const perRoundCpu = infergateRuns.flatMap((run, i) => {
      const other = peerRuns[i];
      const own = run.cpuUsPerRequest;
      return other === undefined || other.cpuUsPerRequest === null || own === null || own === 0 ? [] : [round(other.cpuUsPerRequest / own)];
    });
    const ownCpu = med('infergate', (r) => r.cpuUsPerRequest);
    const peerCpu = med(peer, (r) => r.cpuUsPerRequest);
    return {
      name: `infergate / ${TARGET_LABELS[peer]}`,
      peer,
      value,
      perRound,
      goal: goal === null ? null : `>= ${goal}x`,
      pass: goal === null || value === null ? null : value >= goal,
      cpuRatio: ownCpu !== null && peerCpu !== null && ownCpu > 0 ? round(peerCpu / ownCpu) : null,
      perRoundCpu,
      cpuRatioMedianOfRounds: perRoundCpu.length === 0 ? null : round(median(perRoundCpu)),
    };
  });

  const out: string[] = [];
  out.push(`### peers: ${connections} connections (wrk, 1 thread), ${durationSec}s per run, ${rounds} interleaved rounds, medians\n`);
  out.push(
    markdownTable(
      ['target', 'req/s (median)', 'p50 ms', 'p99 ms', 'errors', 'CPU µs/response', 'user / sys µs', 'req/s per round'],
      [
        ...targets.map((t) => [
          t.label,
          fixed(t.medianRps ?? Number.NaN, 0),
          fixed(t.medianP50Ms ?? Number.NaN),
          fixed(t.medianP99Ms ?? Number.NaN),
          String(t.errors),
          `${fixed(t.medianCpuUsPerResponse ?? Number.NaN, 0)}${t.target === 'direct' ? ' (backend)' : ''}`,
          `${fixed(t.medianUserUsPerResponse ?? Number.NaN, 0)} / ${fixed(t.medianSysUsPerResponse ?? Number.NaN, 0)}`,
          t.rounds.map((r) => fixed(r.requestsPerSec, 0)).join(' / '),
        ]),
        ...skipped.map((s) => [TARGET_LABELS[s.name], 'skipped', '-', '-', '-', '-', '-', s.skipped]),
      ],
    ),
  );
  out.push('');
  out.push(
    markdownTable(
      ['ratio (req/s, same rounds)', 'median of rounds', 'per round', 'goal', 'result', 'peer CPU / infergate CPU per response (median of rounds; per round)'],
      ratios.map((r) => [
        r.name,
        r.value === null ? 'n/a' : `${fixed(r.value)}x`,
        r.perRound.map((v) => fixed(v)).join(' / '),
        r.goal ?? '-',
        r.pass === null ? '-' : r.pass ? 'pass' : 'MISS',
        r.cpuRatioMedianOfRounds === null ? '-' : `${fixed(r.cpuRatioMedianOfRounds)}x; ${r.perRoundCpu.map((v) => fixed(v)).join(' / ')}`,
      ]),
    ),
  );
  out.push(`\nworkers per proxy: ${WORKERS} (Node peers always 1); machine: ${machine.cpus} cores (${machine.cpuModel}), load average at start ${machine.loadAverageAtStart.join(' ')}`);
  out.push(`infergate: ${INFERGATE_CLI}${BASELINE_CLI === undefined ? '' : `\nbaseline:  ${BASELINE_CLI}`}`);
  const text = out.join('\n');
  console.log(`\n${text}`);

  const path = await writeReport({
    scenario: 'peers',
    startedAt,
    finishedAt: new Date().toISOString(),
    machine,
    parameters: {
      connections,
      durationSec,
      warmupSec,
      rounds,
      loadGenerator: 'wrk -t1 --latency --timeout 10s',
      workers: WORKERS,
      path: '/predictions/bench',
      accessLog: process.env.BENCH_INFERGATE_ACCESS_LOG ?? 'false',
      infergateCli: INFERGATE_CLI,
      baselineCli: BASELINE_CLI ?? null,
      nginxConfig: nginxConfig('<tmp>', 0, backendPort, true),
      haproxyConfig: haproxyConfig(0, backendPort),
    },
    method: METHOD,
    results: { targets, skipped, ratios },
    notes: skipped.map((s) => `${s.name} skipped: ${s.skipped}`),
  });
  await writeFile(path.replace(/\.json$/, '.md'), `${text}\n`);
  console.log(`\nJSON: ${path}`);
}


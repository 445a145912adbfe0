/** Small-response throughput: one fixed-concurrency workload against every target, interleaved in rounds, best round kept. */
import { cpuMs } from '../lib/cpu.ts';
import { runLoad, type LoadResult } from '../lib/load.ts';
import { machineInfo } from '../lib/machine.ts';
import { envNumber, fixed, markdownTable, round, writeReport } from '../lib/report.ts';
import {
  ALL_TARGETS,
  BASELINE_CLI,
  INFERGATE_CLI,
  TARGET_LABELS,
  selectTargets,
  startBackend,
  startTargets,
  stopTargets,
  type Skipped,
  type Running,
  type TargetName,
  withBaseline,
} from '../lib/targets.ts';

/** One measured run, plus the CPU the proxy process (the backend, for direct) spent per response. */
type RunResult = LoadResult & { cpuUsPerRequest: number | null };

interface TargetResult {
  target: TargetName;
  label: string;
  /** The round with the highest requests/s; its latencies are reported alongside. */
  best: RunResult;
  rounds: RunResult[];
}

interface Ratio {
  name: string;
  value: number | null;
  goal: string;
  pass: boolean | null;
}

const METHOD =
  'All targets run at once, each in its own process, against one shared backend process; autocannon runs in the bench process. ' +
  'Targets are measured one after another, interleaved in rounds (A B C D E, A B C D E, ...), each run preceded by a warm-up run ' +
  'that is discarded. Per target the round with the highest requests/s is kept (noise on a shared machine only ever slows a run ' +
  'down), and its latencies are reported. Latency is measured per response in microseconds from autocannon response events. ' +
  'CPU µs/response is the user+system CPU of the proxy process tree (the backend for direct) during the measured run divided ' +
  'by responses, lowest over rounds; it is far less sensitive to other load on the machine than req/s. ' +
  'With a baseline build (BENCH_BASELINE_CLI), it runs next to infergate in every round, after it in odd rounds and before ' +
  'it in even rounds, with the same generated config.';

/** Every other round infergate and its baseline trade places, so neither build always gets the slot after the other. */
function roundOrder(running: readonly Running[], r: number): readonly Running[] {
  const a = running.findIndex((t) => t.name === 'infergate');
  const b = running.findIndex((t) => t.name === 'infergate-baseline');
  if (r % 2 === 1 || a === -1 || b === -1) return running;
  const order = [...running];
  [order[a], order[b]] = [running[b] as Running, running[a] as Running];
  return order;
}

export async function runSmall(): Promise<void> {
  const connections = envNumber('BENCH_CONNECTIONS', 50);
  const durationSec = envNumber('BENCH_DURATION', 10);
  const warmupSec = envNumber('BENCH_WARMUP', 2);
  const rounds = Math.round(envNumber('BENCH_ROUNDS', 3));
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  const perTarget = new Map<TargetName, RunResult[]>();
  let skipped: Skipped[] = [];

  const backend = await startBackend();
  try {
    const started = await startTargets(withBaseline(selectTargets(ALL_TARGETS)), backend);
    skipped = started.skipped;
    try {
      for (let r = 1; r <= rounds; r += 1) {
        for (const target of roundOrder(started.running, r)) {
          const url = `${target.url}/predictions/bench`;
          process.stderr.write(`[bench] small round ${r}/${rounds}: ${target.name} (warm-up ${warmupSec}s, run ${durationSec}s)\n`);
          await runLoad(url, { connections, durationSec: warmupSec });
          const pid = target.pid ?? backend.pid;
          const cpuBefore = pid === undefined ? undefined : cpuMs(pid);
          const load = await runLoad(url, { connections, durationSec });
          const cpuAfter = pid === undefined ? undefined : cpuMs(pid);
          const cpuUsPerRequest =
            cpuBefore === undefined || cpuAfter === undefined || load.totalRequests === 0
              ? null
              : round(((cpuAfter - cpuBefore) * 1000) / load.totalRequests, 1);
          perTarget.set(target.name, [...(perTarget.get(target.name) ?? []), { ...load, cpuUsPerRequest }]);
        }
      }
    } finally {
      await stopTargets(started.running);
    }
  } finally {
    await backend.stop();
  }

  const results: TargetResult[] = [];
  for (const [target, runs] of perTarget) {
    const best = runs.reduce((a, b) => (b.requestsPerSec > a.requestsPerSec ? b : a));
    results.push({ target, label: TARGET_LABELS[target], best, rounds: runs });
  }
  const byName = (name: TargetName): RunResult | undefined => results.find((r) => r.target === name)?.best;
  const direct = byName('direct');
  const infergate = byName('infergate');
  const ratio = (name: string, other: TargetName, goal: number): Ratio => {
    const base = byName(other);
    const value = infergate !== undefined && base !== undefined ? infergate.requestsPerSec / base.requestsPerSec : null;
    return { name, value: value === null ? null : round(value), goal: `>= ${goal}x`, pass: value === null ? null : value >= goal };
  };
  const ratios: Ratio[] = [
    ratio('infergate / http-proxy (req/s)', 'http-proxy', 2),
    ratio('infergate / bare undici (req/s)', 'undici', 0.85),
    ratio('infergate / nginx (req/s)', 'nginx', 0.3),
  ];
  // CPU per response is the steadier comparison on a busy machine: other work steals wall time, not our CPU time.
  const lowestCpu = (name: TargetName): number | null => {
    const values = (perTarget.get(name) ?? []).map((r) => r.cpuUsPerRequest).filter((v): v is number => v !== null);
    return values.length === 0 ? null : Math.min(...values);
  };
  const infergateCpu = lowestCpu('infergate');
  const undiciCpu = lowestCpu('undici');
  const cpuRatio = infergateCpu !== null && undiciCpu !== null && infergateCpu > 0 ? round(undiciCpu / infergateCpu) : null;
  ratios.push({ name: 'bare undici / infergate (proxy CPU per response; info)', value: cpuRatio, goal: '-', pass: null });
  // Same code, same config, same rounds: the spread of this ratio between two identical builds is the noise floor.
  const baselineRuns = perTarget.get('infergate-baseline') ?? [];
  const infergateRuns = perTarget.get('infergate') ?? [];
  const baselineRoundRatios = infergateRuns.flatMap((run, i) => {
    const base = baselineRuns[i];
    return base === undefined || base.requestsPerSec === 0 ? [] : [round(run.requestsPerSec / base.requestsPerSec)];
  });
  if (baselineRuns.length > 0) {
    const baselineCpu = lowestCpu('infergate-baseline');
    // No pass/MISS: a verdict on one best-of-N figure would flip inside the noise; read it against the per-round spread.
    ratios.push({ ...ratio('infergate / infergate (baseline) (req/s)', 'infergate-baseline', 1), goal: 'not lower (issue 7)', pass: null });
    ratios.push({
      name: 'infergate (baseline) / infergate (proxy CPU per response; info)',
      value: infergateCpu !== null && baselineCpu !== null && infergateCpu > 0 ? round(baselineCpu / infergateCpu) : null,
      goal: '-',
      pass: null,
    });
  }
  const addedP50 = (r: LoadResult): number | null => (direct === undefined ? null : r.p50Ms - direct.p50Ms);

  const rows = results.map(({ target, label, best, rounds: runs }) => {
    const added = target === 'direct' ? null : addedP50(best);
    return [
      label,
      fixed(best.requestsPerSec, 0),
      fixed(best.p50Ms),
      fixed(best.p99Ms),
      String(best.errors + best.timeouts + best.non2xx),
      added === null ? '-' : `${added >= 0 ? '+' : ''}${fixed(added)}`,
      lowestCpu(target) === null ? '-' : `${fixed(lowestCpu(target) ?? 0, 0)}${target === 'direct' ? ' (backend)' : ''}`,
      runs.map((run) => fixed(run.requestsPerSec, 0)).join(' / '),
    ];
  });
  for (const s of skipped) rows.push([TARGET_LABELS[s.name], 'skipped', '-', '-', '-', '-', '-', s.skipped]);

  const notes = skipped.map((s) => `${s.name} skipped: ${s.skipped}`);
  console.log(`\n### small responses: ${connections} connections, ${durationSec}s per run, ${rounds} round(s), best round shown\n`);
  console.log(
    markdownTable(['target', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'added p50 ms vs direct', 'CPU µs/response', 'req/s per round'], rows),
  );
  console.log('');
  console.log(
    markdownTable(
      ['ratio', 'value', 'goal', 'result'],
      ratios.map((r) => [r.name, r.value === null ? 'n/a' : `${fixed(r.value)}x`, r.goal, r.pass === null ? '-' : r.pass ? 'pass' : 'MISS']),
    ),
  );
  if (baselineRoundRatios.length > 0) {
    console.log(`\ninfergate / infergate (baseline) req/s, per round: ${baselineRoundRatios.map((v) => `${fixed(v)}x`).join(' / ')}`);
    console.log(`infergate: ${INFERGATE_CLI}\nbaseline:  ${BASELINE_CLI ?? '-'}`);
  }
  for (const note of notes) console.log(`\n> ${note}`);

  const path = await writeReport({
    scenario: 'small',
    startedAt,
    finishedAt: new Date().toISOString(),
    machine,
    parameters: {
      connections,
      durationSec,
      warmupSec,
      rounds,
      path: '/predictions/bench',
      pipelining: 1,
      pick: 'best round by req/s',
      infergateCli: INFERGATE_CLI,
      baselineCli: BASELINE_CLI ?? null,
    },
    method: METHOD,
    results: {
      targets: results.map((r) => ({ ...r, addedP50Ms: r.target === 'direct' ? null : addedP50(r.best) })),
      skipped,
      ratios,
      baselineRoundRatios,
    },
    notes,
  });
  console.log(`\nJSON: ${path}`);
}

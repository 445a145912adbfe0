/** Rolling restart under steady traffic: each replica in turn reloads its model (port open), then restarts (port closed); client-visible errors per target. */
import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import { FLEET_LABELS, backendStates, selectFleetTargets, startFleet, startFleetTargets, stopFleetTargets, type Fleet, type FleetTarget } from '../lib/fleet.ts';
import { machineInfo } from '../lib/machine.ts';
import { envNumber, fixed, markdownTable, writeReport } from '../lib/report.ts';
import { SteadyTraffic, summarise, type TrafficSummary } from '../lib/traffic.ts';

const VERSION = '2';
const REPLICAS = 3;
const RELOAD_MS = 2000;
const DOWN_MS = 1000;
/** Time after a replica has loaded before the next one restarts (rolling-update tools wait for readiness too). */
const SETTLE_MS = 1000;

export const ROLLING_INFERGATE_POOL = `    balance: round-robin
    health:
      readiness: { path: /health, interval: 500ms, timeout: 500ms, healthyThreshold: 1, unhealthyThreshold: 1 }
    warmup: { requests: 2, method: POST, path: /v1/infer, body: "{}" }
    retry: { attempts: 2, methods: [POST] }
`;

type Phase = 'reload' | 'port-closed';
const PHASE_TITLES: Record<Phase, string> = {
  reload: `port open, model reloading for ${RELOAD_MS / 1000} s (health and inference answer 503)`,
  'port-closed': `port closed for ${DOWN_MS / 1000} s (connection refused), then model loading for ${RELOAD_MS / 1000} s`,
};

interface Row extends TrafficSummary {
  phase: Phase;
  target: string;
  label: string;
  finalStates: string | null;
}

async function restartInTurn(fleet: Fleet, phase: Phase): Promise<void> {
  for (let i = 0; i < REPLICAS; i += 1) {
    if (phase === 'reload') {
      await fleet.control(`load?i=${i}&ms=${RELOAD_MS}`);
      await sleep(RELOAD_MS);
    } else {
      await fleet.control(`restart?i=${i}&down=${DOWN_MS}&load=${RELOAD_MS}`); // answers once loaded again
    }
    await sleep(SETTLE_MS);
  }
}

/** Fresh targets per phase, so one phase's ejections or marked-down servers do not leak into the next. */
async function runPhase(fleet: Fleet, phase: Phase, intervalMs: number, notes: string[]): Promise<Row[]> {
  const started = await startFleetTargets(selectFleetTargets(), fleet.ports, { poolYaml: ROLLING_INFERGATE_POOL, waitAllReady: true });
  const targets: FleetTarget[] = started.running;
  for (const s of started.skipped) notes.push(`${phase}: ${s.name} skipped: ${s.reason}`);
  const rows: Row[] = [];
  try {
    const t0 = performance.now();
    const traffic = targets.map((t) => new SteadyTraffic(t.url, t0, { intervalMs, path: '/v1/infer', timeoutMs: 15_000 }));
    for (const t of traffic) t.start();
    await sleep(SETTLE_MS);
    await restartInTurn(fleet, phase);
    const shots = await Promise.all(traffic.map((t) => t.stop()));
    for (const [i, target] of targets.entries()) {
      rows.push({ phase, target: target.name, label: FLEET_LABELS[target.name], ...summarise(shots[i] ?? [], VERSION), finalStates: await backendStates(target) });
    }
  } finally {
    await stopFleetTargets(targets);
  }
  return rows;
}

export async function runRollingRestart(): Promise<void> {
  const startedAt = new Date().toISOString();
  const intervalMs = envNumber('BENCH_FLEET_INTERVAL_MS', 20);
  const fleet = await startFleet(Array.from({ length: REPLICAS }, () => VERSION));
  const rows: Row[] = [];
  const notes: string[] = [];
  try {
    for (const phase of ['reload', 'port-closed'] as const) rows.push(...(await runPhase(fleet, phase, intervalMs, notes)));
  } finally {
    await fleet.stop();
  }

  for (const phase of ['reload', 'port-closed'] as const) {
    const phaseRows = rows.filter((r) => r.phase === phase);
    console.log(`\n### rolling restart (${phase}): ${REPLICAS} replicas restarted in turn, ${PHASE_TITLES[phase]}; one POST every ${intervalMs} ms per target\n`);
    console.log(
      markdownTable(
        ['target', 'sent', 'errors', 'error %', 'non-2xx', 'conn. errors', 'p50 ms', 'p99 ms', 'max ms'],
        phaseRows.map((r) => [
          r.label, String(r.sent), String(r.errors), fixed(r.errorPercent, 2), `${r.non2xx}${r.non2xx > 0 ? ` ${JSON.stringify(r.statuses)}` : ''}`,
          String(r.connectionErrors), fixed(r.p50Ms, 1), fixed(r.p99Ms, 1), fixed(r.maxMs, 1),
        ]),
      ),
    );
    const ig = phaseRows.find((r) => r.target === 'infergate');
    if (ig?.finalStates) console.log(`\ninfergate backend states at the end of the phase: ${ig.finalStates}`);
  }
  for (const n of notes) console.log(`\n- ${n}`);
  const path = await writeReport({
    scenario: 'rolling-restart',
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: machineInfo(),
    parameters: { replicas: REPLICAS, reloadMs: RELOAD_MS, downMs: DOWN_MS, settleMs: SETTLE_MS, intervalMs, infergatePool: ROLLING_INFERGATE_POOL },
    method:
      'One process of fake model servers, all loaded. Per phase, fresh targets (infergate waits until every backend is READY); every target gets one POST every interval, open loop, side by side, while each replica in turn reloads (phase reload) or restarts (phase port-closed), with a settle time after each. Errors = non-2xx + no answer; latency percentiles over correct answers only.',
    results: rows,
    notes,
  });
  console.log(`\nJSON: ${path}`);
}

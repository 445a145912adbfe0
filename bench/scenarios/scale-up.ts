/** Scale-up from cold: steady traffic from t=0 while replicas load (1, 2, 4 s, one with the wrong model version); client-visible errors per target. */
import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import { FLEET_LABELS, selectFleetTargets, startFleet, startFleetTargets, stopFleetTargets, backendStates, type FleetTarget } from '../lib/fleet.ts';
import { machineInfo } from '../lib/machine.ts';
import { envNumber, fixed, markdownTable, writeReport } from '../lib/report.ts';
import { SteadyTraffic, summarise, type TrafficSummary } from '../lib/traffic.ts';

const EXPECTED_VERSION = '2';
/** The fleet: three replicas of version 2 whose models load in 1, 2 and 4 s, and one of version 1 loaded at once. */
const VERSIONS = ['2', '2', '2', '1'];
const LOAD_MS = [1000, 2000, 4000, 0];

export const SCALE_UP_INFERGATE_POOL = `    balance: round-robin
    health:
      readiness: { path: /health, interval: 500ms, timeout: 500ms, healthyThreshold: 1, unhealthyThreshold: 1 }
      model: { name: bench-model, version: "${EXPECTED_VERSION}", metadataPath: /v1/models, namePointer: /data/0/id, versionPointer: /data/0/version }
    warmup: { requests: 2, method: POST, path: /v1/infer, body: "{}" }
    retry: { attempts: 2, methods: [POST] }
`;

interface Row extends TrafficSummary {
  target: string;
  label: string;
  finalStates: string | null;
}

export async function runScaleUp(): Promise<void> {
  const startedAt = new Date().toISOString();
  const intervalMs = envNumber('BENCH_FLEET_INTERVAL_MS', 20);
  const seconds = envNumber('BENCH_SCALEUP_SECONDS', 7);
  const fleet = await startFleet(VERSIONS);
  const rows: Row[] = [];
  const notes: string[] = [];
  let targets: FleetTarget[] = [];
  try {
    // Cold: every model server has its port open and its model not loaded (health and inference answer 503).
    for (let i = 0; i < VERSIONS.length; i += 1) await fleet.control(`load?i=${i}&ms=-1`);
    const started = await startFleetTargets(selectFleetTargets(), fleet.ports, { poolYaml: SCALE_UP_INFERGATE_POOL, waitAllReady: false });
    targets = started.running;
    for (const s of started.skipped) notes.push(`${s.name} skipped: ${s.reason}`);
    // t0: every model starts loading and every target gets the same steady traffic, side by side.
    const t0 = performance.now();
    await Promise.all(LOAD_MS.map((ms, i) => fleet.control(`load?i=${i}&ms=${ms}`)));
    const traffic = targets.map((t) => new SteadyTraffic(t.url, t0, { intervalMs, path: '/v1/infer', timeoutMs: 15_000 }));
    for (const t of traffic) t.start();
    await sleep(seconds * 1000);
    const shots = await Promise.all(traffic.map((t) => t.stop()));
    for (const [i, target] of targets.entries()) {
      rows.push({ target: target.name, label: FLEET_LABELS[target.name], ...summarise(shots[i] ?? [], EXPECTED_VERSION), finalStates: await backendStates(target) });
    }
  } finally {
    await stopFleetTargets(targets);
    await fleet.stop();
  }

  console.log(`\n### scale-up: ${VERSIONS.length} replicas loading from cold (1 s, 2 s, 4 s; one reports model version 1), one POST every ${intervalMs} ms per target for ${seconds} s\n`);
  console.log(
    markdownTable(
      ['target', 'sent', 'errors', 'error %', 'non-2xx', 'conn. errors', 'wrong version', 'p50 ms', 'p99 ms', 'first correct answer (s)'],
      rows.map((r) => [
        r.label, String(r.sent), String(r.errors), fixed(r.errorPercent, 1), `${r.non2xx}${r.non2xx > 0 ? ` ${JSON.stringify(r.statuses)}` : ''}`,
        String(r.connectionErrors), String(r.wrongVersion), fixed(r.p50Ms, 1), fixed(r.p99Ms, 1), r.firstSuccessMs === null ? 'never' : fixed(r.firstSuccessMs / 1000, 2),
      ]),
    ),
  );
  const ig = rows.find((r) => r.target === 'infergate');
  if (ig?.finalStates) console.log(`\ninfergate backend states at the end: ${ig.finalStates}`);
  for (const n of notes) console.log(`\n- ${n}`);
  const path = await writeReport({
    scenario: 'scale-up',
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: machineInfo(),
    parameters: { versions: VERSIONS, loadMs: LOAD_MS, expectedVersion: EXPECTED_VERSION, intervalMs, seconds, infergatePool: SCALE_UP_INFERGATE_POOL },
    method:
      'One process of fake model servers (ports open, models cold: 503 on /health and inference). Targets start first; at t0 the models start loading and every target gets one POST every interval, open loop, side by side. Errors = non-2xx + no answer + 2xx from the wrong model version; latency percentiles over correct answers only.',
    results: rows,
    notes,
  });
  console.log(`\nJSON: ${path}`);
}

/**
 * CPU profile of infergate under the peers scenario's load (wrk, 50 connections, nginx backend), with the access log
 * off (the bench default) and on (JSON lines to stdout, a pipe here): µs per request by part of the request path.
 * Writes bench/results/profile-<stamp>.{md,json} and latest-profile.{md,json}.
 *
 *   npm run build && node bench/tools/profile-infergate.ts          # BENCH_PROFILE_SECONDS (10), BENCH_CONNECTIONS (50)
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopAll } from '../lib/children.ts';
import { machineInfo } from '../lib/machine.ts';
import { breakdown, type Breakdown } from '../lib/profile-breakdown.ts';
import { envNumber, fixed, markdownTable, RESULTS_DIR } from '../lib/report.ts';
import { INFERGATE_CLI, startNginxBackend, startTarget } from '../lib/targets.ts';
import { runWrk } from '../lib/wrk.ts';

const BODY = JSON.stringify({ model: 'bench', version: '1', outputs: [0.12, 0.34, 0.56, 0.78], ok: true });
const seconds = envNumber('BENCH_PROFILE_SECONDS', 10);
const connections = envNumber('BENCH_CONNECTIONS', 50);
const modes = (process.env.BENCH_PROFILE_ACCESS_LOG ?? 'false,true').split(',').map((m) => m.trim());

async function profileOnce(accessLog: string): Promise<Breakdown & { accessLog: string; requestsPerSec: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'infergate-prof-'));
  process.env.BENCH_INFERGATE_NODE_ARGS = `--cpu-prof --cpu-prof-dir=${dir}`;
  process.env.BENCH_INFERGATE_ACCESS_LOG = accessLog;
  const backend = await startNginxBackend(BODY);
  let requests = 0;
  let requestsPerSec = 0;
  try {
    const target = await startTarget('infergate', backend);
    if ('skipped' in target) throw new Error(target.skipped);
    try {
      const url = `${target.url}/predictions/bench`;
      requests += (await runWrk(url, { connections, durationSec: 2 })).totalRequests;
      const run = await runWrk(url, { connections, durationSec: seconds });
      requests += run.totalRequests;
      requestsPerSec = run.requestsPerSec;
    } finally {
      await target.stop(); // SIGINT: infergate exits by itself and writes its profile
    }
  } finally {
    await backend.stop();
  }
  const file = (await readdir(dir)).find((f) => f.endsWith('.cpuprofile'));
  if (file === undefined) throw new Error(`no profile written in ${dir}`);
  const result = breakdown(join(dir, file), requests);
  await rm(dir, { recursive: true, force: true });
  return { ...result, accessLog, requestsPerSec };
}

const startedAt = new Date().toISOString();
const results: (Breakdown & { accessLog: string; requestsPerSec: number })[] = [];
try {
  for (const mode of modes) {
    process.stderr.write(`[profile] access log ${mode}: ${seconds}s under wrk -c${connections}\n`);
    results.push(await profileOnce(mode));
  }
} finally {
  await stopAll();
}

const out: string[] = [];
out.push(`### Where infergate's CPU goes per request (wrk -c${connections}, ${seconds}s + 2s warm-up, V8 --cpu-prof, 1 ms samples)\n`);
out.push(
  markdownTable(
    ['part of the request path', ...results.map((r) => `µs/request (access log ${r.accessLog})`), ...results.map((r) => `% (log ${r.accessLog})`)],
    [...new Set(results.flatMap((r) => r.rows.map((row) => row.part)))].map((part) => [
      part,
      ...results.map((r) => fixed(r.rows.find((row) => row.part === part)?.usPerRequest ?? 0, 1)),
      ...results.map((r) => fixed(r.rows.find((row) => row.part === part)?.percent ?? 0, 1)),
    ]),
  ),
);
out.push('');
out.push(
  markdownTable(
    ['', ...results.map((r) => `access log ${r.accessLog}`)],
    [
      ['requests profiled', ...results.map((r) => String(r.requests))],
      ['req/s (measured run, profiler on)', ...results.map((r) => fixed(r.requestsPerSec, 0))],
      ['busy µs per request (all parts)', ...results.map((r) => fixed(r.usPerRequest, 1))],
      ['busy / idle ms', ...results.map((r) => `${r.busyMs} / ${r.idleMs}`)],
    ],
  ),
);
for (const r of results) {
  out.push(`\nTop functions by self time, access log ${r.accessLog} (µs/request):\n`);
  out.push(markdownTable(['function', 'µs/request'], r.topSelf.map((t) => [`\`${t.fn}\``, fixed(t.usPerRequest, 1)])));
}
out.push(`\ninfergate: ${INFERGATE_CLI}`);
const text = out.join('\n');
console.log(text);
const stamp = startedAt.replace(/[:.]/g, '-');
const json = `${JSON.stringify({ scenario: 'profile', startedAt, machine: machineInfo(), parameters: { seconds, connections, infergateCli: INFERGATE_CLI }, results }, null, 2)}\n`;
for (const name of [`profile-${stamp}`, 'latest-profile']) {
  await writeFile(join(RESULTS_DIR, `${name}.json`), json);
  await writeFile(join(RESULTS_DIR, `${name}.md`), `${text}\n`);
}

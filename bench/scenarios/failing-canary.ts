/** A canary that fails half its requests, behind infergate (rollout + outlier) and behind nginx (split_clients): client-visible errors and time until the canary stops getting traffic. */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { exitReason, spawnChild, waitForPortLine, type Child } from '../lib/children.ts';
import { machineInfo } from '../lib/machine.ts';
import { freePort, waitForStatus } from '../lib/net.ts';
import { envNumber, fixed, markdownTable, round, writeReport } from '../lib/report.ts';
import { INFERGATE_CLI, nginxBinary, nginxConfigFile } from '../lib/targets.ts';
import { SteadyTraffic, type Shot } from '../lib/traffic.ts';

const REPO_DIR = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
const MODEL_SERVER = pathToFileURL(join(REPO_DIR, 'dist', 'demo', 'model-server.js')).href;

type TargetName = 'infergate' | 'infergate-rollout-only' | 'nginx' | 'nginx-backup';
const TARGETS: readonly TargetName[] = ['infergate', 'infergate-rollout-only', 'nginx', 'nginx-backup'];
const LABELS: Record<TargetName, string> = {
  infergate: 'infergate: rollout + outlier (defaults)',
  'infergate-rollout-only': 'infergate: rollout only (outlier: false)',
  nginx: 'nginx: split_clients 10%, max_fails=3 fail_timeout=10s, next_upstream off',
  'nginx-backup': 'nginx: same + stable as backup, next_upstream http_500',
};

/** Canary share, failure rate and the rollout's settings (interval short enough to act within one run). */
const CANARY_PERCENT = 10;
const CANARY_FAIL_RATE = 0.5;
const LATENCY_MS = 2;
/** A canary request within this many ms of the end counts as "still receiving traffic". */
const STILL_RECEIVING_MS = 2000;

interface ServerStats {
  name: string;
  port: number;
  requests: number;
  /** Wall-clock ms of the first and last user request; null before any. */
  firstAt: number | null;
  lastAt: number | null;
}

/** Every target gets its own stable x2 + canary x1, so one target's traffic never moves another's canary verdict. */
interface BackendSet {
  stable: [number, number];
  canary: number;
}

// Runs in its own process: demo model servers (stable v1, canary v2 failing half its requests) and a stats port.
const SERVER_SCRIPT = `
import http from 'node:http';
import { ModelServer } from ${JSON.stringify(MODEL_SERVER)};
const [sets, failRate, latencyMs] = process.argv.slice(1).map(Number);
const servers = [];
for (let i = 0; i < sets; i++) {
  for (const [role, version, rate] of [['stable', '1', 0], ['stable', '1', 0], ['canary', '2', failRate]]) {
    const s = new ModelServer({ model: 'bench', version, failRate: rate, latencyMs });
    await s.start();
    const stat = { name: i + '.' + role, port: s.port, requests: 0, firstAt: null, lastAt: null };
    s.server.on('request', (req) => {
      if (req.url === '/health' || req.url === '/v1/models') return;
      stat.requests++;
      stat.lastAt = Date.now();
      stat.firstAt ??= stat.lastAt;
    });
    servers.push(stat);
  }
}
const control = http.createServer((req, res) => {
  req.resume();
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(servers));
});
control.listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ port: control.address().port, servers }) + '\\n'));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
process.on('SIGTERM', () => process.exit(0));
`;

interface Target {
  name: TargetName;
  url: string;
  set: BackendSet;
  /** infergate: starts the rollout at t0 and reads its state afterwards. */
  adminUrl?: string;
  stop(): Promise<void>;
}

function infergateYaml(port: number, adminPort: number, set: BackendSet, intervalS: number, outlier: boolean): string {
  const url = (p: number): string => `http://127.0.0.1:${p}`;
  return `listen: 127.0.0.1:${port}
admin: { listen: 127.0.0.1:${adminPort} }
log: { level: warn, accessLog: false }
pools:
  p:
    balance: least-request
    health:
      readiness: { path: /health, interval: 1s, timeout: 1s, healthyThreshold: 1 }
${outlier ? '' : '    outlier: false\n'}    groups:
      stable: { weight: ${100 - CANARY_PERCENT}, backends: [${url(set.stable[0])}, ${url(set.stable[1])}] }
      canary:
        weight: ${CANARY_PERCENT}
        backends: [${url(set.canary)}]
        rollout: { start: manual, steps: [${CANARY_PERCENT}, 25, 50, 100], interval: ${intervalS}s, minRequests: 50, maxErrorRate: 0.05 }
`;
}

async function startInfergate(name: TargetName, set: BackendSet, intervalS: number): Promise<Target> {
  const dir = await mkdtemp(join(tmpdir(), 'infergate-canary-'));
  const port = await freePort();
  const adminPort = await freePort();
  const config = join(dir, 'infergate.yaml');
  await writeFile(config, infergateYaml(port, adminPort, set, intervalS, name === 'infergate'));
  const child = spawnChild(name, process.execPath, [INFERGATE_CLI, '--config', config]);
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  const stop = async (): Promise<void> => {
    await child.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForStatus(`${adminUrl}/readyz`, 200, 15_000, exitReason(child));
    await waitCanaryReady(adminUrl, 15_000);
  } catch (error) {
    await stop();
    throw new Error(`${name} not ready: ${error instanceof Error ? error.message : String(error)}\n${child.tail()}`);
  }
  return { name, url: `http://127.0.0.1:${port}`, set, adminUrl, stop };
}

/** The manual rollout reports canaryReady once the canary backend passed its readiness probe (polled, bounded). */
async function waitCanaryReady(adminUrl: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const r = (await rolloutView(adminUrl)) as { canaryReady?: boolean } | null;
    if (r?.canaryReady === true) return;
    await sleep(100);
  }
  throw new Error(`canary not READY within ${timeoutMs} ms`);
}

async function rolloutView(adminUrl: string): Promise<Record<string, unknown> | null> {
  const res = await fetch(`${adminUrl}/admin/rollouts`, { signal: AbortSignal.timeout(2000) });
  const body = (await res.json()) as { rollouts: Array<Record<string, unknown>> };
  return body.rollouts[0] ?? null;
}

/**
 * nginx's best open-source equivalent. `split_clients` on $request_id picks the canary upstream for 10% of requests
 * (per request, as infergate without stickiness). `max_fails=3 fail_timeout=10s` is nginx's only passive health;
 * with `proxy_next_upstream off` a 500 answer is not "unsuccessful" to nginx, so it never marks the canary down.
 * The `nginx-backup` variant gives nginx its best chance: 500 counts (`proxy_next_upstream ... http_500`) and the
 * canary upstream lists the stable servers as `backup`, so a marked-down canary falls back to stable, and a 500 is
 * retried there (that hides errors from clients, but the canary keeps getting traffic after each fail_timeout).
 */
function nginxConfig(dir: string, listeners: ReadonlyArray<{ name: 'nginx' | 'nginx-backup'; port: number; set: BackendSet }>): string {
  const server = (p: number, extra = ''): string => `    server 127.0.0.1:${p} max_fails=3 fail_timeout=10s${extra};`;
  const blocks = listeners.map(({ name, port, set }) => {
    const id = name.replace('-', '_');
    const backup = name === 'nginx-backup';
    return `
  upstream ${id}_stable {
${server(set.stable[0])}
${server(set.stable[1])}
    keepalive 32;
  }
  upstream ${id}_canary {
${server(set.canary)}
${backup ? `${server(set.stable[0], ' backup')}\n${server(set.stable[1], ' backup')}` : ''}
    keepalive 32;
  }
  split_clients "$request_id" $${id}_pool {
    ${CANARY_PERCENT}% ${id}_canary;
    * ${id}_stable;
  }
  server {
    listen 127.0.0.1:${port};
    location = /__up { return 200 "up\\n"; }
    location / {
      proxy_pass http://$${id}_pool;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      ${backup ? 'proxy_next_upstream error timeout http_500 non_idempotent;' : 'proxy_next_upstream off;'}
    }
  }`;
  });
  return nginxConfigFile(dir, 'bench/scenarios/failing-canary.ts', blocks.join('\n'));
}

async function startNginx(wanted: ReadonlyArray<{ name: 'nginx' | 'nginx-backup'; set: BackendSet }>): Promise<Target[]> {
  const binary = nginxBinary();
  if (binary === undefined) throw new Error('nginx not installed (apt-get install -y nginx)');
  const dir = await mkdtemp(join(tmpdir(), 'nginx-canary-'));
  await mkdir(join(dir, 'logs'));
  const listeners = [];
  for (const w of wanted) listeners.push({ ...w, port: await freePort() });
  const config = join(dir, 'nginx.conf');
  await writeFile(config, nginxConfig(dir, listeners));
  const child: Child = spawnChild('nginx-canary', binary, ['-p', dir, '-c', config, '-e', join(dir, 'error.log'), '-g', 'daemon off;']);
  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopped ??= child.stop().then(() => rm(dir, { recursive: true, force: true }));
    return stopped;
  };
  try {
    for (const l of listeners) await waitForStatus(`http://127.0.0.1:${l.port}/__up`, 200, 10_000, exitReason(child));
  } catch (error) {
    await stop();
    throw error;
  }
  return listeners.map((l) => ({ name: l.name, url: `http://127.0.0.1:${l.port}`, set: l.set, stop }));
}

export interface FailingCanaryRow {
  target: TargetName;
  label: string;
  sent: number;
  /** Client-visible errors: non-2xx answers and no answer. */
  errors: number;
  errorPercent: number;
  statuses: Record<string, number>;
  canaryRequests: number;
  canarySharePercent: number;
  /** Seconds from the start of traffic to the canary's last request; null when it still received traffic at the end. */
  canaryStoppedAfterS: number | null;
  /** infergate: the rollout's state at the end, and when it changed (s after t0). */
  rollout: { state: string; weight: number; reason: string | null; atS: number | null } | null;
  /** infergate: the canary backend's state at the end (e.g. EJECTED) and its ejections. */
  canaryBackend: { state: string; ejections: number } | null;
}

function summariseShots(shots: readonly Shot[]): { sent: number; errors: number; statuses: Record<string, number> } {
  const statuses: Record<string, number> = {};
  let errors = 0;
  for (const s of shots) {
    if (s.status >= 200 && s.status < 300) continue;
    errors++;
    const key = s.status === 0 ? `no answer (${s.error ?? 'error'})` : String(s.status);
    statuses[key] = (statuses[key] ?? 0) + 1;
  }
  return { sent: shots.length, errors, statuses };
}

export async function runFailingCanary(): Promise<void> {
  const startedAt = new Date().toISOString();
  const durationS = envNumber('BENCH_CANARY_SECONDS', 30);
  const rps = envNumber('BENCH_CANARY_RPS', 200);
  const intervalS = envNumber('BENCH_CANARY_INTERVAL_S', 5);
  const filter = (process.env.BENCH_TARGETS ?? '').trim();
  const selected = filter === '' ? [...TARGETS] : TARGETS.filter((t) => filter.split(',').map((s) => s.trim()).includes(t));
  const notes: string[] = [];

  const serverChild = spawnChild('canary-model-servers', process.execPath, ['--no-warnings', '--input-type=module', '-e', SERVER_SCRIPT, String(selected.length), String(CANARY_FAIL_RATE), String(LATENCY_MS)]);
  const statsPort = await waitForPortLine(serverChild);
  const initial = (await (await fetch(`http://127.0.0.1:${statsPort}/`)).json()) as ServerStats[];
  const sets: BackendSet[] = selected.map((_n, i) => ({
    stable: [initial[3 * i]!.port, initial[3 * i + 1]!.port],
    canary: initial[3 * i + 2]!.port,
  }));

  const targets: Target[] = [];
  const rows: FailingCanaryRow[] = [];
  try {
    for (const [i, name] of selected.entries()) {
      if (name === 'nginx' || name === 'nginx-backup') continue;
      try {
        targets.push(await startInfergate(name, sets[i]!, intervalS));
      } catch (error) {
        notes.push(`${name} skipped: ${error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error)}`);
      }
    }
    const nginxWanted = selected.flatMap((name, i) => (name === 'nginx' || name === 'nginx-backup' ? [{ name, set: sets[i]! }] : []));
    if (nginxWanted.length > 0) {
      try {
        targets.push(...(await startNginx(nginxWanted)));
      } catch (error) {
        notes.push(`nginx skipped: ${error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error)}`);
      }
    }

    // t0: traffic starts and, at the same moment, each infergate rollout is started (start: manual) at 10%.
    const wallT0 = Date.now();
    const t0 = performance.now();
    await Promise.all(targets.filter((t) => t.adminUrl !== undefined).map((t) => fetch(`${t.adminUrl}/admin/rollouts/p/canary/start`, { method: 'POST' }).then((r) => r.arrayBuffer())));
    const traffic = targets.map((t) => new SteadyTraffic(t.url, t0, { intervalMs: 1000 / rps, path: '/v1/predict', timeoutMs: 10_000 }));
    for (const t of traffic) t.start();
    await sleep(durationS * 1000);
    const shots = await Promise.all(traffic.map((t) => t.stop()));
    const wallEnd = wallT0 + durationS * 1000;
    const stats = (await (await fetch(`http://127.0.0.1:${statsPort}/`)).json()) as ServerStats[];

    for (const [i, target] of targets.entries()) {
      const s = summariseShots(shots[i] ?? []);
      const canary = stats.find((x) => x.port === target.set.canary);
      const canaryRequests = canary?.requests ?? 0;
      const last = canary?.lastAt ?? null;
      const stillReceiving = last !== null && last > wallEnd - STILL_RECEIVING_MS;
      let rollout: FailingCanaryRow['rollout'] = null;
      let canaryBackend: FailingCanaryRow['canaryBackend'] = null;
      if (target.adminUrl !== undefined) {
        const r = await rolloutView(target.adminUrl);
        const history = (r?.history as Array<{ at: string; to: string }> | undefined) ?? [];
        const changed = history.at(-1);
        rollout = r === null ? null : {
          state: String(r.state),
          weight: Number(r.weight),
          reason: (r.reason as string | null) ?? null,
          atS: changed === undefined ? null : round((Date.parse(changed.at) - wallT0) / 1000, 2),
        };
        const res = await fetch(`${target.adminUrl}/admin/backends`);
        const all = ((await res.json()) as { backends: Array<{ group: string; state: string; ejections: number }> }).backends;
        const c = all.find((b) => b.group === 'canary');
        canaryBackend = c === undefined ? null : { state: c.state, ejections: c.ejections };
      }
      rows.push({
        target: target.name,
        label: LABELS[target.name],
        ...s,
        errorPercent: s.sent === 0 ? 0 : round((100 * s.errors) / s.sent, 2),
        canaryRequests,
        canarySharePercent: s.sent === 0 ? 0 : round((100 * canaryRequests) / s.sent, 2),
        canaryStoppedAfterS: last === null ? 0 : stillReceiving ? null : round((last - wallT0) / 1000, 2),
        rollout,
        canaryBackend,
      });
    }
  } finally {
    await Promise.allSettled([...new Set(targets.map((t) => t.stop))].map((stop) => stop()));
    await serverChild.stop();
  }

  const achieved = rows.length === 0 ? 0 : Math.round(Math.max(...rows.map((r) => r.sent)) / durationS);
  console.log(
    `\n### failing canary: one POST every ${fixed(1000 / rps, 1)} ms per target (${rps} req/s asked, ~${achieved} achieved) for ${durationS} s, ${CANARY_PERCENT}% to a canary that answers 500 to ${CANARY_FAIL_RATE * 100}% of requests; infergate rollout interval ${intervalS} s, minRequests 50\n`,
  );
  console.log(
    markdownTable(
      ['target', 'sent', 'client errors', 'error %', 'canary got', 'canary share %', 'canary stopped after', 'end state'],
      rows.map((r) => [
        r.label,
        String(r.sent),
        String(r.errors),
        fixed(r.errorPercent, 2),
        String(r.canaryRequests),
        fixed(r.canarySharePercent, 2),
        r.canaryStoppedAfterS === null ? 'never (still at end)' : `${fixed(r.canaryStoppedAfterS, 2)} s`,
        endState(r),
      ]),
    ),
  );
  notes.push(
    'nginx-backup hides the canary\'s errors by sending each failed POST again to a stable server (proxy_next_upstream http_500 non_idempotent): the inference runs twice, and the canary still gets a request whenever fail_timeout expires. infergate never retries after a response has started; its errors are the canary\'s answers before the rollback or ejection.',
    `infergate's rollout interval is ${intervalS} s here so that a ${durationS} s run sees the verdict (default 1m); the rollout is started at t0 (start: manual + POST .../start), so both systems split from the same moment.`,
  );
  for (const n of notes) console.log(`\n- ${n}`);
  const path = await writeReport({
    scenario: 'failing-canary',
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: machineInfo(),
    parameters: {
      durationS,
      rps,
      canaryPercent: CANARY_PERCENT,
      canaryFailRate: CANARY_FAIL_RATE,
      backendLatencyMs: LATENCY_MS,
      infergateRollout: { start: 'manual, started at t0', steps: [CANARY_PERCENT, 25, 50, 100], interval: `${intervalS}s`, minRequests: 50, maxErrorRate: 0.05 },
      infergateConfig: infergateYaml(0, 0, { stable: [1, 2], canary: 3 }, intervalS, true),
      nginxConfig: nginxConfig('<dir>', [
        { name: 'nginx', port: 0, set: { stable: [1, 2], canary: 3 } },
        { name: 'nginx-backup', port: 0, set: { stable: [4, 5], canary: 6 } },
      ]),
    },
    method:
      'One process of demo model servers (src/demo/model-server.ts, 2 ms latency): per target its own stable x2 (v1) and canary x1 (v2, 500 on half its requests, at random). Every target gets the same open-loop POST traffic side by side. At t0 traffic starts and the infergate rollouts (start: manual) are started at 10%. Client errors = non-2xx + no answer. "canary stopped after" = last user request the canary server received, in s after t0; "never" when it received one in the last 2 s.',
    results: rows,
    notes,
  });
  console.log(`\nJSON: ${path}`);
}

function endState(r: FailingCanaryRow): string {
  const parts: string[] = [];
  if (r.rollout !== null) parts.push(`rollout ${r.rollout.state} at ${r.rollout.weight}%${r.rollout.atS === null ? '' : ` (t=${fixed(r.rollout.atS, 1)} s)`}`);
  if (r.canaryBackend !== null) parts.push(`canary ${r.canaryBackend.state}, ${r.canaryBackend.ejections} ejection(s)`);
  return parts.length === 0 ? '-' : parts.join('; ');
}

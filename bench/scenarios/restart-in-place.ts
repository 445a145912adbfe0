/**
 * Restart in place (issue 8, item 7): one of four KServe v2 model servers is killed and, within 0.3 s, replaced on the
 * same port by a wrong version, a corrupt copy (same version, other md5) or a copy still loading, or it crashes for good.
 * Steady POST inference through nginx, nginx tuned, HAProxy and infergate with its shipped defaults, side by side:
 * client errors, wrong-model answers, and how long the replaced backend kept getting traffic.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { exitReason, spawnChild, type Child } from '../lib/children.ts';
import { waitAllBackendsReady } from '../lib/fleet.ts';
import { machineInfo } from '../lib/machine.ts';
import { freePort, waitForStatus } from '../lib/net.ts';
import { envNumber, fixed, markdownTable, round, writeReport } from '../lib/report.ts';
import { INFERGATE_CLI, nginxBinary, nginxConfigFile } from '../lib/targets.ts';
import { SteadyTraffic, summarise, type Shot } from '../lib/traffic.ts';

const BENCH_DIR = dirname(dirname(fileURLToPath(import.meta.url)));
const BACKEND_SCRIPT = join(BENCH_DIR, 'servers', 'kserve-backend.ts');

const MODEL = 'bench-model';
const md5 = (text: string): string => createHash('md5').update(text).digest('hex');
/** What every target is configured to expect (infergate checks it; the client checks every answer against it). */
const EXPECTED = { version: '2', md5: md5('bench-model v2 weights') };
const WRONG_VERSION = { version: '1', md5: md5('bench-model v1 weights') };
const CORRUPT = { version: '2', md5: md5('bench-model v2 weights, truncated download') };
const BACKENDS = 4;
/** Which of the four is replaced (the second: not the first a round-robin picks). */
const REPLACED = 1;
const LATENCY_MS = 2;
const INFER_PATH = `/v2/models/${MODEL}/infer`;
const INFER_BODY = JSON.stringify({ inputs: [{ name: 'input-0', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }] });
/** A replaced backend that got a bad request within this many ms of the end still gets traffic. */
const STILL_MS = 1000;

type CaseName = 'wrong-version' | 'corrupt-md5' | 'loading' | 'crash';
const CASES: readonly CaseName[] = ['wrong-version', 'corrupt-md5', 'loading', 'crash'];

type TargetName = 'nginx' | 'nginx-tuned' | 'haproxy' | 'infergate' | 'infergate-rr';
/** Every target, in table order; `infergate-rr` runs only when BENCH_TARGETS names it. */
const ALL_TARGETS: readonly TargetName[] = ['nginx', 'nginx-tuned', 'haproxy', 'infergate', 'infergate-rr'];
const DEFAULT_TARGETS: readonly TargetName[] = ['nginx', 'nginx-tuned', 'haproxy', 'infergate'];
const LABELS: Record<TargetName, string> = {
  nginx: 'nginx (round-robin, keepalive)',
  'nginx-tuned': 'nginx tuned (next_upstream http_503 non_idempotent, max_fails)',
  haproxy: 'HAProxy (httpchk, retry-on, redispatch)',
  infergate: 'infergate (defaults: preset kserve-v2 + model)',
  // A diagnostic: the default least-request balancer can starve one of four equal backends at this low concurrency
  // (issue 8, item 5), which keeps traffic off the replaced backend by chance; round-robin sends it its share.
  'infergate-rr': 'infergate (same + balance: round-robin)',
};

interface Params {
  rps: number;
  beforeS: number;
  afterS: number;
  loadMs: number;
  downMs: number;
}

/** Seconds observed after the kill: the loading case also sees the copy loaded and back in use. */
function observeS(c: CaseName, p: Params): number {
  return c === 'loading' ? Math.max(p.afterS, p.loadMs / 1000 + 6) : p.afterS;
}

function caseTitle(c: CaseName, p: Params): string {
  switch (c) {
    case 'wrong-version':
      return `replaced by a wrong version (v${WRONG_VERSION.version})`;
    case 'corrupt-md5':
      return 'replaced by a corrupt copy (v2, other md5)';
    case 'loading':
      return `replaced by a loading copy (503 for ${fixed(p.loadMs / 1000, 0)} s, then the right model)`;
    case 'crash':
      return 'crash, no restart';
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Model servers: one process each, so that "kill" is a real signal to a real process (SIGTERM to replace, SIGKILL for
// the crash) and the replacement a new process on the port.

interface ModelProc {
  child: Child;
  port: number;
}

/** Resolves with the first JSON line of the child's stdout that `test` accepts. */
function jsonLine(child: Child, test: (line: Record<string, unknown>) => boolean, timeoutMs = 15_000): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        try {
          const parsed = JSON.parse(line) as Record<string, unknown>;
          if (test(parsed)) {
            done();
            resolve(parsed);
            return;
          }
        } catch {
          // not JSON
        }
      }
    };
    const onExit = (): void => {
      done();
      reject(new Error(`${child.name} exited:\n${child.tail()}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${child.name}: no expected line within ${timeoutMs} ms:\n${child.tail()}`));
    }, timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      child.proc.stdout?.off('data', onData);
      child.proc.off('exit', onExit);
    };
    child.proc.stdout?.on('data', onData);
    child.proc.once('exit', onExit);
  });
}

function spawnModel(name: string, port: number, model: { version: string; md5: string }, loadMs: number, standby: boolean): Child {
  const args = [BACKEND_SCRIPT, String(port), MODEL, model.version, model.md5, String(loadMs), String(LATENCY_MS), standby ? 'standby' : 'run'];
  return spawnChild(name, process.execPath, ['--no-warnings', ...args]);
}

async function startModel(name: string, port: number, model: { version: string; md5: string }): Promise<ModelProc> {
  const child = spawnModel(name, port, model, 0, false);
  const line = await jsonLine(child, (l) => typeof l.port === 'number');
  return { child, port: line.port as number };
}

interface Replacement {
  /** Epoch ms of the kill, and when the new process listened (null: crash). */
  killAt: number;
  upAt: number | null;
  proc: ModelProc | null;
}

/** The replacement process for a case, started ahead (standby: not listening yet); null for a crash. */
async function prepareReplacement(c: CaseName, port: number, p: Params): Promise<Child | null> {
  if (c === 'crash') return null;
  const model = c === 'wrong-version' ? WRONG_VERSION : c === 'corrupt-md5' ? CORRUPT : EXPECTED;
  const child = spawnModel(`model-${REPLACED}-replacement`, port, model, c === 'loading' ? p.loadMs : 0, true);
  await jsonLine(child, (l) => l.standby === true);
  return child;
}

/**
 * Stop the old process — `kill` (SIGTERM, as systemd, Docker and Kubernetes send it: the server finishes its in-flight
 * requests, like uvicorn) for a replacement, SIGKILL for the crash — and have the standby bind the same port `downMs`
 * after the signal (connection refused in between).
 */
async function replace(old: ModelProc, standby: Child | null, downMs: number): Promise<Replacement> {
  const killAt = Date.now();
  if (standby === null) await old.child.kill();
  else await old.child.stop();
  if (standby === null) return { killAt, upAt: null, proc: null };
  const listening = jsonLine(standby, (l) => typeof l.port === 'number');
  const wait = downMs - (Date.now() - killAt);
  if (wait > 0) await sleep(wait);
  standby.proc.stdin?.write('listen\n');
  await listening;
  return { killAt, upAt: Date.now(), proc: { child: standby, port: old.port } };
}

interface Received {
  target: string;
  at: number;
  status: number;
}

interface Seen {
  listenedAt: number | null;
  loadedAt: number | null;
  received: Received[];
}

async function receivedBy(port: number): Promise<Seen> {
  const res = await fetch(`http://127.0.0.1:${port}/__bench/requests`, { signal: AbortSignal.timeout(5000) });
  return (await res.json()) as Seen;
}

// ---------------------------------------------------------------------------------------------------------------
// Targets. Each records, per request, which backends it tried (nginx: $upstream_addr; HAProxy: retries and final
// server; infergate: its default access log), to see a crashed backend that no longer answers.

interface Touch {
  /** Epoch ms. */
  at: number;
}

interface Target {
  name: TargetName;
  url: string;
  /** Requests the proxy sent (or tried to send) to 127.0.0.1:port, from its own per-request log. */
  touches(port: number): Promise<Touch[]>;
  /** The proxy's own view of a backend over time (HAProxy DOWN/UP, infergate state changes), epoch ms. */
  events(port: number): Array<{ at: number; what: string }>;
  /** Why the proxy's own requests failed or were retried, from its log, counted (e.g. nginx error.log messages). */
  failures(): Promise<Record<string, number>>;
  /** infergate: the backend as /admin/backends shows it now, and user requests per backend port. */
  view?(port: number): Promise<{ backend: Record<string, unknown> | null; requestsByPort: Record<string, number> }>;
  stop(): Promise<void>;
}

const UPSTREAM_NGINX: Record<'nginx' | 'nginx-tuned', { server: string; location: string }> = {
  // What a user writes: a round-robin upstream with keep-alive (which needs HTTP/1.1 and an empty Connection header).
  nginx: { server: '', location: '' },
  // nginx's best open-source effort: a 503 or a refused connection moves the POST on and marks the server failed.
  'nginx-tuned': { server: ' max_fails=1 fail_timeout=5s', location: '\n      proxy_next_upstream error timeout http_503 non_idempotent;' },
};

export function ripNginxConfig(dir: string, listeners: ReadonlyArray<{ name: 'nginx' | 'nginx-tuned'; port: number }>, ports: readonly number[]): string {
  const blocks = listeners.map(({ name, port }) => {
    const id = name.replace('-', '_');
    const u = UPSTREAM_NGINX[name];
    return `
  upstream ${id} {
${ports.map((p) => `    server 127.0.0.1:${p}${u.server};`).join('\n')}
    keepalive 32;
  }
  server {
    listen 127.0.0.1:${port};
    location = /__up { return 200 "up\\n"; }
    location / {
      proxy_pass http://${id};
      proxy_http_version 1.1;
      proxy_set_header Connection "";${u.location}
      access_log ${dir}/${name}.log rip;
    }
  }`;
  });
  // The log is the bench's instrument (every upstream tried, ms timestamps), not part of the target's behaviour.
  return nginxConfigFile(dir, 'bench/scenarios/restart-in-place.ts', `  log_format rip '$msec $status "$upstream_addr" "$upstream_status"';${blocks.join('\n')}`);
}

async function startNginx(names: ReadonlyArray<'nginx' | 'nginx-tuned'>, ports: readonly number[]): Promise<Target[]> {
  const binary = nginxBinary();
  if (binary === undefined) throw new Error('nginx not installed (apt-get install -y nginx)');
  const dir = await mkdtemp(join(tmpdir(), 'nginx-rip-'));
  await mkdir(join(dir, 'logs'));
  const listeners: Array<{ name: 'nginx' | 'nginx-tuned'; port: number }> = [];
  for (const name of names) listeners.push({ name, port: await freePort() });
  const config = join(dir, 'nginx.conf');
  await writeFile(config, ripNginxConfig(dir, listeners, ports));
  const child = spawnChild('nginx-rip', binary, ['-p', dir, '-c', config, '-e', join(dir, 'error.log'), '-g', 'daemon off;']);
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
  return listeners.map(({ name, port }) => ({
    name,
    url: `http://127.0.0.1:${port}`,
    async touches(backendPort: number): Promise<Touch[]> {
      const text = await readFile(join(dir, `${name}.log`), 'utf8').catch(() => '');
      const out: Touch[] = [];
      for (const line of text.split('\n')) {
        const m = /^(\d+\.\d+) \d+ "([^"]*)"/.exec(line);
        if (m === null) continue;
        const tried = (m[2] ?? '').split(/[,:]\s/).map((s) => s.trim());
        if (tried.includes(`127.0.0.1:${backendPort}`)) out.push({ at: Math.round(Number(m[1]) * 1000) });
      }
      return out;
    },
    events: () => [],
    // One nginx process logs both variants to one error.log; the request's Host header names the listener.
    async failures(): Promise<Record<string, number>> {
      const text = await readFile(join(dir, 'error.log'), 'utf8').catch(() => '');
      const host = `host: "127.0.0.1:${port}"`;
      return countBy(text.split('\n').filter((l) => l.includes(host)).map((l) => /\[\w+\] [\d#]+: \*\d+ (.*?)(?: while|,)/.exec(l)?.[1] ?? 'other'));
    },
    stop,
  }));
}

function countBy(keys: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of keys) out[k] = (out[k] ?? 0) + 1;
  return out;
}

export function haproxyConfig(port: number, ports: readonly number[]): string {
  return `# generated by bench/scenarios/restart-in-place.ts
global
  log stdout format raw local0
defaults
  mode http
  log global
  # the bench's instrument: accept time (s.ms), final server, retries, status, termination state
  log-format "%Ts.%ms %s %rc %ST %tsc"
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  retries 2
  option redispatch
  retry-on conn-failure empty-response 503
frontend rip
  bind 127.0.0.1:${port}
  monitor-uri /__up
  default_backend models
backend models
  balance roundrobin
  option httpchk GET /v2/health/ready
  http-check expect status 200
  default-server inter 1s fall 2 rise 2
${ports.map((p, i) => `  server m${i} 127.0.0.1:${p} check`).join('\n')}
`;
}

function haproxyBinary(): string | undefined {
  const r = spawnSync('sh', ['-c', 'command -v haproxy'], { encoding: 'utf8' });
  const path = r.stdout.trim();
  return path === '' ? undefined : path;
}

function haproxyVersion(): string | null {
  const binary = haproxyBinary();
  if (binary === undefined) return null;
  const r = spawnSync(binary, ['-v'], { encoding: 'utf8' });
  return /version (\S+)/.exec(r.stdout)?.[1] ?? null;
}

/** Collects a child's stdout lines with their arrival time (epoch ms). */
function collectLines(child: Child): Array<{ at: number; line: string }> {
  const lines: Array<{ at: number; line: string }> = [];
  let buffered = '';
  child.proc.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    const at = Date.now();
    for (const line of parts) if (line !== '') lines.push({ at, line });
  });
  return lines;
}

async function startHaproxy(ports: readonly number[]): Promise<Target> {
  const binary = haproxyBinary();
  if (binary === undefined) throw new Error('haproxy not installed (apt-get install -y haproxy)');
  const dir = await mkdtemp(join(tmpdir(), 'haproxy-rip-'));
  const port = await freePort();
  const config = join(dir, 'haproxy.cfg');
  await writeFile(config, haproxyConfig(port, ports));
  // -db: foreground, no daemon; our own process with our own config, the system service is never touched.
  const child = spawnChild('haproxy', binary, ['-db', '-f', config]);
  const lines = collectLines(child);
  const stop = async (): Promise<void> => {
    await child.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForStatus(`http://127.0.0.1:${port}/__up`, 200, 10_000, exitReason(child));
  } catch (error) {
    await stop();
    throw error;
  }
  const serverName = (backendPort: number): string => `m${ports.indexOf(backendPort)}`;
  return {
    name: 'haproxy',
    url: `http://127.0.0.1:${port}`,
    // With one dead server and no other failure, a request that needed a retry (%rc > 0) tried the dead one first
    // (HAProxy logs only the server that finally answered).
    async touches(backendPort: number): Promise<Touch[]> {
      const out: Touch[] = [];
      for (const { line } of lines) {
        const m = /^(\d+)\.(\d+) (\S+) \+?(\d+) (-?\d+) \S+$/.exec(line);
        if (m === null) continue;
        if (m[3] === serverName(backendPort) || Number(m[4]) > 0) out.push({ at: Number(m[1]) * 1000 + Number(m[2]) });
      }
      return out;
    },
    // Requests that needed a retry ("retries=N") or ended abnormally (termination state other than ----).
    async failures(): Promise<Record<string, number>> {
      const keys: string[] = [];
      for (const { line } of lines) {
        const m = /^\d+\.\d+ \S+ (\+?)(\d+) (-?\d+) (\S+)$/.exec(line);
        if (m === null) continue;
        if (Number(m[2]) > 0) keys.push(`retried ${m[2]}x${m[1] === '+' ? ' (redispatched)' : ''}, then ${m[3]}`);
        if (m[4] !== '----') keys.push(`termination state ${m[4]} (${m[3]})`);
      }
      return countBy(keys);
    },
    events(backendPort: number) {
      const name = `models/${serverName(backendPort)} `;
      return lines.filter((l) => l.line.includes(name) && /is (UP|DOWN)/.test(l.line)).map((l) => ({ at: l.at, what: l.line.replace(/, check duration.*$/, '') }));
    },
    stop,
  };
}

/** The whole infergate config: what a new user writes from the README for a KServe v2 fleet, and nothing else. */
export function infergateYaml(port: number, adminPort: number, ports: readonly number[], roundRobin = false): string {
  return `listen: 127.0.0.1:${port}
admin: { listen: 127.0.0.1:${adminPort} }
pools:
  models:
${roundRobin ? '    balance: round-robin\n' : ''}    health:
      preset: kserve-v2
      model: { name: ${MODEL}, version: "${EXPECTED.version}", md5: ${EXPECTED.md5} }
    backends: [${ports.map((p) => `http://127.0.0.1:${p}`).join(', ')}]
`;
}

async function startInfergate(name: 'infergate' | 'infergate-rr', ports: readonly number[]): Promise<Target> {
  const dir = await mkdtemp(join(tmpdir(), 'infergate-rip-'));
  const port = await freePort();
  const adminPort = await freePort();
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  const config = join(dir, 'infergate.yaml');
  await writeFile(config, infergateYaml(port, adminPort, ports, name === 'infergate-rr'));
  const child = spawnChild(name, process.execPath, [INFERGATE_CLI, '--config', config]);
  // Default log settings: the event log (info) and the access log (one JSON line per request) on stdout.
  const lines = collectLines(child);
  const stop = async (): Promise<void> => {
    await child.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForStatus(`${adminUrl}/readyz`, 200, 15_000, exitReason(child));
    await waitAllBackendsReady(adminUrl, ports.length, 20_000);
  } catch (error) {
    await stop();
    throw new Error(`infergate not ready: ${error instanceof Error ? error.message : String(error)}\n${child.tail()}`);
  }
  const parsed = (): Array<Record<string, unknown>> =>
    lines.flatMap(({ line }) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  return {
    name,
    url: `http://127.0.0.1:${port}`,
    // The access log names the backend that answered and the number of attempts; in a crash, a request that
    // needed more than one attempt tried the dead backend first.
    async touches(backendPort: number): Promise<Touch[]> {
      await sleep(300); // the access log is flushed every 200 ms
      return parsed()
        .filter((r) => r.kind === 'access' && (String(r.backend).endsWith(`:${backendPort}`) || Number(r.attempts) > 1))
        .map((r) => ({ at: Date.parse(String(r.time)) }));
    },
    events(backendPort: number) {
      return parsed()
        .filter((r) => r.kind !== 'access' && JSON.stringify(r).includes(`127.0.0.1:${backendPort}`))
        .map((r) => ({ at: Date.parse(String(r.time)), what: [r.state ?? r.to, r.msg, r.reason].filter((x) => x !== undefined && x !== null).join(' ') }));
    },
    // The access log's failure code of each failed request, and retried ones.
    async failures(): Promise<Record<string, number>> {
      const access = parsed().filter((r) => r.kind === 'access');
      return countBy([
        ...access.filter((r) => r.error !== undefined).map((r) => `${String(r.error)} (${String(r.status)})`),
        ...access.filter((r) => Number(r.attempts) > 1).map((r) => `${String(r.attempts)} attempts, then ${String(r.status)}`),
      ]);
    },
    async view(backendPort: number) {
      const res = await fetch(`${adminUrl}/admin/backends`, { signal: AbortSignal.timeout(2000) });
      const all = ((await res.json()) as { backends: Array<Record<string, unknown>> }).backends;
      const requestsByPort: Record<string, number> = {};
      for (const b of all) requestsByPort[String(b.url).replace(/^.*:/, '')] = Number(b.requests);
      return { backend: all.find((b) => String(b.url).endsWith(`:${backendPort}`)) ?? null, requestsByPort };
    },
    stop,
  };
}

async function startTargets(names: readonly TargetName[], ports: readonly number[], notes: string[], c: CaseName): Promise<Target[]> {
  const starts: Array<Promise<Target[]>> = [];
  const nginxNames = names.filter((n): n is 'nginx' | 'nginx-tuned' => n === 'nginx' || n === 'nginx-tuned');
  if (nginxNames.length > 0) starts.push(startNginx(nginxNames, ports));
  if (names.includes('haproxy')) starts.push(startHaproxy(ports).then((t) => [t]));
  for (const name of ['infergate', 'infergate-rr'] as const) if (names.includes(name)) starts.push(startInfergate(name, ports).then((t) => [t]));
  const settled = await Promise.allSettled(starts);
  const out: Target[] = [];
  for (const s of settled) {
    if (s.status === 'fulfilled') out.push(...s.value);
    else notes.push(`${c}: a target was skipped: ${s.reason instanceof Error ? (s.reason.message.split('\n')[0] ?? '') : String(s.reason)}`);
  }
  return ALL_TARGETS.flatMap((name) => out.filter((t) => t.name === name));
}

// ---------------------------------------------------------------------------------------------------------------

export interface RestartInPlaceRow {
  case: CaseName;
  target: TargetName;
  label: string;
  requests: number;
  /** Non-2xx answers and no answer (connection error, timeout). */
  clientErrors: number;
  /** 2xx answers naming another version or md5 than configured. */
  wrongModel: number;
  statuses: Record<string, number>;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /**
   * Requests of this target the replaced backend got while it could not serve the right model (wrong version or
   * md5: all; loading: those before it loaded). Crash: requests the proxy sent or tried to send to the dead port,
   * from its own log.
   */
  badToReplaced: number;
  /** Seconds after the kill of each of those. */
  badAtS: number[];
  /** Seconds after the kill of the first of those. */
  firstBadAfterS: number | null;
  /** Seconds after the kill of the last of those; null when one came within the last second (still getting it). */
  stoppedAfterS: number | null;
  /** Loading: seconds after the kill of the first request the reloaded backend answered 200. */
  backInUseAfterS: number | null;
  /** The proxy's own view of the replaced backend (HAProxy DOWN/UP, infergate state changes), s after the kill. */
  events: Array<{ atS: number; what: string }>;
  /** Crash: when the proxy sent or tried to send a request to the dead port, s after the kill. */
  touchesS: number[] | null;
  /** Why the proxy's requests failed or were retried, from its own log (counts). */
  proxyFailures: Record<string, number>;
  /** infergate: the replaced backend in /admin/backends at the end, and user requests per backend port over the case. */
  endView: { state: unknown; stateReason: unknown; admission: unknown; requestsByPort: Record<string, number> } | null;
  /** What the proxy itself believes about the replaced backend at the end (nginx: nothing to ask). */
  verdict: string;
}

interface CaseRun {
  case: CaseName;
  restartGapMs: number | null;
  rows: RestartInPlaceRow[];
}

const identify = (body: unknown): string => {
  const b = body as { model_version?: unknown; parameters?: { md5?: unknown } | null };
  return `${String(b.model_version ?? '')}/${String(b.parameters?.md5 ?? '')}`;
};

async function runCase(c: CaseName, names: readonly TargetName[], p: Params, notes: string[]): Promise<CaseRun> {
  const models: ModelProc[] = [];
  let targets: Target[] = [];
  let standby: Child | null = null;
  let replaced: ModelProc | null = null;
  try {
    models.push(...(await Promise.all(Array.from({ length: BACKENDS }, (_v, i) => startModel(`model-${i}`, 0, EXPECTED)))));
    const ports = models.map((m) => m.port);
    const replacedPort = ports[REPLACED]!;
    [targets, standby] = await Promise.all([startTargets(names, ports, notes, c), prepareReplacement(c, replacedPort, p)]);

    const t0 = performance.now();
    const traffic = targets.map(
      (t) =>
        new SteadyTraffic(t.url, t0, {
          intervalMs: 1000 / p.rps,
          path: INFER_PATH,
          timeoutMs: 15_000,
          body: INFER_BODY,
          headers: { 'x-bench-target': t.name },
          identify,
        }),
    );
    for (const t of traffic) t.start();
    await sleep(p.beforeS * 1000);
    const r = await replace(models[REPLACED]!, standby, p.downMs);
    replaced = r.proc;
    await sleep(observeS(c, p) * 1000 - (Date.now() - r.killAt));
    const shots: Shot[][] = await Promise.all(traffic.map((t) => t.stop()));
    const endAt = Date.now();

    const seen = replaced === null ? null : await receivedBy(replacedPort);
    const rows: RestartInPlaceRow[] = [];
    for (const [i, target] of targets.entries()) {
      const s = summarise(shots[i] ?? [], `${EXPECTED.version}/${EXPECTED.md5}`);
      let bad: number[];
      let backInUse: number | null = null;
      let touchesS: number[] | null = null;
      if (seen === null) {
        bad = (await target.touches(replacedPort)).map((t) => t.at).filter((at) => at >= r.killAt);
        touchesS = bad.map((at) => round((at - r.killAt) / 1000, 2));
      } else {
        const mine = seen.received.filter((x) => x.target === target.name);
        const loadedAt = c === 'loading' ? seen.loadedAt : null;
        bad = mine.filter((x) => c !== 'loading' || loadedAt === null || x.at < loadedAt).map((x) => x.at);
        const firstOk = mine.find((x) => x.status === 200 && (loadedAt === null || x.at >= loadedAt));
        if (c === 'loading' && firstOk !== undefined) backInUse = round((firstOk.at - r.killAt) / 1000, 2);
      }
      const last = bad.length === 0 ? null : Math.max(...bad);
      const view = await target.view?.(replacedPort);
      rows.push({
        case: c,
        target: target.name,
        label: LABELS[target.name],
        requests: s.sent,
        clientErrors: s.non2xx + s.connectionErrors,
        wrongModel: s.wrongVersion,
        statuses: { ...s.statuses, ...(s.connectionErrors > 0 ? { 'no answer': s.connectionErrors } : {}) },
        p50Ms: s.p50Ms,
        p99Ms: s.p99Ms,
        maxMs: s.maxMs,
        badToReplaced: bad.length,
        badAtS: bad.map((at) => round((at - r.killAt) / 1000, 2)).sort((a, b) => a - b),
        firstBadAfterS: bad.length === 0 ? null : round((Math.min(...bad) - r.killAt) / 1000, 2),
        stoppedAfterS: last === null ? 0 : last > endAt - STILL_MS ? null : round((last - r.killAt) / 1000, 2),
        backInUseAfterS: backInUse,
        events: target.events(replacedPort).map((e) => ({ atS: round((e.at - r.killAt) / 1000, 2), what: e.what })),
        touchesS,
        proxyFailures: await target.failures(),
        verdict: verdictOf(target.name, target.events(replacedPort), view?.backend ?? null, r.killAt),
        endView:
          view === undefined || view.backend === null
            ? null
            : { state: view.backend.state, stateReason: view.backend.stateReason, admission: view.backend.admission, requestsByPort: view.requestsByPort },
      });
    }
    // The replacement's own clock of when it listened: the pipe that reports it to us may lag on a busy machine.
    const upAt = seen === null ? null : (seen.listenedAt ?? r.upAt);
    return { case: c, restartGapMs: upAt === null ? null : upAt - r.killAt, rows };
  } finally {
    await Promise.allSettled([...new Set(targets.map((t) => t.stop))].map((stop) => stop()));
    await Promise.allSettled([...models.map((m) => m.child.stop()), replaced?.child.stop(), standby?.stop()]);
  }
}

/** HAProxy: its last UP/DOWN line (UP when none); infergate: the state and whether its admission predates the kill. */
function verdictOf(name: TargetName, events: ReadonlyArray<{ what: string }>, backend: Record<string, unknown> | null, killAt: number): string {
  if (name === 'nginx' || name === 'nginx-tuned') return 'n/a (no health checks)';
  if (name === 'haproxy') return /is DOWN/.test(events.at(-1)?.what ?? '') ? 'DOWN' : 'UP';
  if (backend === null) return 'unknown';
  const admission = backend.admission as { at?: number; ok?: boolean; found?: { version?: string | null; checksum?: string | null } | null } | null;
  if (admission === null || admission.found == null) return String(backend.state);
  const when = typeof admission.at === 'number' && admission.at < killAt ? 'before the kill' : 'after the kill';
  const verdict = admission.ok === false ? 'rejected' : 'admitted';
  return `${String(backend.state)}; ${verdict} v${admission.found.version ?? '?'} md5 ${(admission.found.checksum ?? '?').slice(0, 8)} ${when}`;
}

function selected<T extends string>(all: readonly T[], defaults: readonly T[], env: string | undefined): T[] {
  const filter = (env ?? '').trim();
  if (filter === '') return [...defaults];
  const allowed = new Set(filter.split(',').map((s) => s.trim()));
  return all.filter((x) => allowed.has(x));
}

export async function runRestartInPlace(): Promise<void> {
  const startedAt = new Date().toISOString();
  const p: Params = {
    rps: envNumber('BENCH_RIP_RPS', 40),
    beforeS: envNumber('BENCH_RIP_BEFORE_S', 3),
    afterS: envNumber('BENCH_RIP_AFTER_S', 15),
    loadMs: envNumber('BENCH_RIP_LOAD_MS', 12_000),
    downMs: envNumber('BENCH_RIP_DOWN_MS', 100),
  };
  const names = selected(ALL_TARGETS, DEFAULT_TARGETS, process.env.BENCH_TARGETS);
  const cases = selected(CASES, CASES, process.env.BENCH_RIP_CASES);
  const notes: string[] = [];
  const runs: CaseRun[] = [];
  for (const c of cases) {
    process.stderr.write(`[bench] restart-in-place: ${c}\n`);
    runs.push(await runCase(c, names, p, notes));
  }

  console.log(
    `\n### restart in place: ${BACKENDS} KServe v2 model servers (${MODEL} v${EXPECTED.version}, md5 ${EXPECTED.md5.slice(0, 8)}…); ` +
      `one POST ${INFER_PATH} every ${fixed(1000 / p.rps, 0)} ms per target; after ${p.beforeS} s backend #${REPLACED + 1} is killed (SIGKILL) ` +
      `and, ${p.downMs} ms later, replaced on the same port; ${p.afterS} s observed after the kill (loading: ${observeS('loading', p)} s)\n`,
  );
  const stopped = (r: RestartInPlaceRow): string => {
    let base: string;
    if (r.badToReplaced === 0) base = 'never got any';
    else if (r.stoppedAfterS === null) base = 'never (still at end)';
    else base = r.touchesS === null ? `${fixed(r.stoppedAfterS, 1)} s` : `last try at ${fixed(r.stoppedAfterS, 1)} s`;
    return r.backInUseAfterS === null ? base : `${base}; back in use at ${fixed(r.backInUseAfterS, 1)} s`;
  };
  console.log(
    markdownTable(
      ['case', 'target', 'requests', 'client errors', 'wrong-model answers', 'bad requests to the replaced backend', 'replaced backend stopped getting them after', 'its view of the replaced backend at the end', 'p99 / max ms'],
      runs.flatMap((run) =>
        run.rows.map((r) => [
          caseTitle(run.case, p),
          r.label,
          String(r.requests),
          `${r.clientErrors}${r.clientErrors > 0 ? ` ${JSON.stringify(r.statuses)}` : ''}`,
          String(r.wrongModel),
          String(r.badToReplaced),
          stopped(r),
          r.verdict,
          `${fixed(r.p99Ms, 0)} / ${fixed(r.maxMs, 0)}`,
        ]),
      ),
    ),
  );
  console.log('\nThe proxies\' own view of the replaced backend (s after the kill):');
  for (const run of runs) {
    console.log(`- ${run.case} (${run.restartGapMs === null ? 'no restart' : `kill to listening again: ${run.restartGapMs} ms`}):`);
    for (const r of run.rows) {
      const parts: string[] = [];
      if (r.touchesS !== null && r.touchesS.length > 0) {
        const shown = r.touchesS.length <= 6 ? r.touchesS.map((t) => fixed(t, 1)).join(', ') : `${fixed(r.touchesS[0] ?? 0, 1)} … ${fixed(r.touchesS.at(-1) ?? 0, 1)}`;
        parts.push(`tried the dead port at ${shown} s`);
      }
      parts.push(...r.events.filter((e) => e.atS >= -0.5).map((e) => `${fixed(e.atS, 1)} s ${e.what}`));
      if (Object.keys(r.proxyFailures).length > 0) parts.push(`its log: ${JSON.stringify(r.proxyFailures)}`);
      if (r.endView !== null) {
        const found = (r.endView.admission as { found?: unknown } | null)?.found;
        parts.push(`at the end ${String(r.endView.state)} (${String(r.endView.stateReason)}), admitted facts ${JSON.stringify(found ?? null)}, user requests per backend port ${JSON.stringify(r.endView.requestsByPort)}`);
      }
      if (parts.length > 0) console.log(`  - ${r.target}: ${parts.join('; ')}`);
    }
  }
  for (const run of runs) {
    if (run.restartGapMs !== null && run.restartGapMs > 300) notes.push(`${run.case}: the restart took ${run.restartGapMs} ms (> 300 ms): the machine was busy`);
  }
  for (const n of notes) console.log(`\n- ${n}`);
  const path = await writeReport({
    scenario: 'restart-in-place',
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: machineInfo(),
    parameters: {
      ...p,
      haproxyVersion: haproxyVersion(),
      backends: BACKENDS,
      replacedIndex: REPLACED,
      backendLatencyMs: LATENCY_MS,
      model: MODEL,
      expected: EXPECTED,
      wrongVersion: WRONG_VERSION,
      corrupt: CORRUPT,
      inferPath: INFER_PATH,
      inferBody: INFER_BODY,
      cases,
      targets: names,
      infergateConfig: infergateYaml(0, 0, [1, 2, 3, 4]),
      nginxConfig: ripNginxConfig('<dir>', [{ name: 'nginx', port: 0 }, { name: 'nginx-tuned', port: 0 }], [1, 2, 3, 4]),
      haproxyConfig: haproxyConfig(0, [1, 2, 3, 4]),
    },
    method:
      'Per case, fresh processes: four fake KServe v2 model servers (servers/kserve-backend.ts, one process each, all serving the expected model) and the targets (one nginx with both variants, HAProxy, infergate; infergate waited for until all four are READY). Every target gets one POST every interval, open loop, side by side, tagged with x-bench-target. After beforeS the second server is SIGKILLed; its replacement (spawned ahead, standby) binds the same port downMs later. Client errors = non-2xx + no answer; wrong-model = 2xx whose model_version/parameters.md5 differ from the expected. Bad requests to the replaced backend: counted by the replacement itself per target (wrong version / corrupt: every request; loading: those before it loaded); crash: from each proxy\'s own per-request log (nginx $upstream_addr; HAProxy: final server or %rc > 0; infergate access log: backend or attempts > 1). Stopped after = last such request, s after the kill; "still at end" when one came in the last second.',
    results: runs,
    notes,
  }, { partial: cases.length < CASES.length });
  console.log(`\nJSON: ${path}`);
}

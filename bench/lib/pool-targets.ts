/**
 * The `llm` scenario's systems under test: balancers in front of a pool of model server replicas. infergate three
 * times (load-aware, least-request, round-robin, each its own process), nginx least_conn and HAProxy leastconn, each
 * configured as someone serving token streams would (upstream keep-alive, no response buffering, active health
 * check where the product has one). Each proxy runs one worker / thread, as infergate does.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exitReason, spawnChild, type Child } from './children.ts';
import { freePort, waitForStatus } from './net.ts';
import { waitAllBackendsReady } from './fleet.ts';
import { INFERGATE_CLI, haproxyBinary, nginxBinary, nginxConfigFile } from './targets.ts';

export type PoolTargetName = 'infergate-load-aware' | 'infergate-affinity' | 'infergate-least-request' | 'infergate-round-robin' | 'nginx-least-conn' | 'haproxy-leastconn';
export const POOL_TARGETS: readonly PoolTargetName[] = ['infergate-load-aware', 'infergate-affinity', 'infergate-least-request', 'infergate-round-robin', 'nginx-least-conn', 'haproxy-leastconn'];
export const POOL_LABELS: Record<PoolTargetName, string> = {
  'infergate-load-aware': 'infergate load-aware (vLLM metrics)',
  'infergate-affinity': 'infergate load-aware + prefix affinity',
  'infergate-least-request': 'infergate least-request',
  'infergate-round-robin': 'infergate round-robin',
  'nginx-least-conn': 'nginx least_conn',
  'haproxy-leastconn': 'HAProxy leastconn',
};

export interface PoolTarget {
  readonly name: PoolTargetName;
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

export interface PoolTargetSkipped {
  readonly name: PoolTargetName;
  readonly reason: string;
}

/** Targets filtered by BENCH_TARGETS (comma list of the names above). */
export function selectPoolTargets(): PoolTargetName[] {
  const filter = (process.env.BENCH_TARGETS ?? '').trim();
  if (filter === '') return [...POOL_TARGETS];
  const allowed = new Set(filter.split(',').map((s) => s.trim()));
  return POOL_TARGETS.filter((n) => allowed.has(n));
}

/**
 * The pool lines (indented by 4) that turn on load-aware balancing, tried in order until `infergate check` accepts
 * one. BENCH_LOAD_AWARE_POOL (YAML lines, `\n`-separated, indented by 4) replaces the list, for a build whose keys
 * differ from these guesses.
 */
function loadAwareCandidates(): string[] {
  const override = process.env.BENCH_LOAD_AWARE_POOL;
  if (override !== undefined && override.trim() !== '') return [override.replaceAll('\\n', '\n')];
  return [
    '    balance: load-aware\n    load: { adapter: vllm }',
    '    balance: load-aware\n    load: { preset: vllm }',
    '    balance: load-aware',
  ];
}

function infergateYaml(port: number, adminPort: number, poolLines: string, healthPath: string, ports: readonly number[]): string {
  const hasBalance = poolLines.includes('balance:');
  return [
    `listen: 127.0.0.1:${port}`,
    `admin: { listen: 127.0.0.1:${adminPort} }`,
    'log: { level: warn, accessLog: false }',
    'pools:',
    '  llm:',
    ...(hasBalance ? [] : ['    balance: least-request']),
    poolLines.trimEnd(),
    ...(poolLines.includes('health:') ? [] : [`    health: { readiness: { path: ${healthPath}, interval: 1s } }`]),
    `    backends: [${ports.map((p) => `http://127.0.0.1:${p}`).join(', ')}]`,
    '',
  ].join('\n');
}

/** Does this infergate build accept the config? (`infergate check`: exit 0.) */
function configAccepted(config: string): { ok: boolean; message: string } {
  const result = spawnSync(process.execPath, [INFERGATE_CLI, 'check', '--config', config], { encoding: 'utf8', timeout: 20_000 });
  return { ok: result.status === 0, message: `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n')[0] ?? '' };
}

async function startInfergate(name: PoolTargetName, ports: readonly number[], healthPath: string): Promise<PoolTarget | PoolTargetSkipped> {
  if (!existsSync(INFERGATE_CLI)) return { name, reason: `${INFERGATE_CLI} not found (run npm run build)` };
  const dir = await mkdtemp(join(tmpdir(), 'infergate-llm-'));
  const port = await freePort();
  const adminPort = await freePort();
  const config = join(dir, 'infergate.yaml');
  const candidates =
    name === 'infergate-load-aware'
      ? loadAwareCandidates()
      : name === 'infergate-affinity'
        ? ['    balance: load-aware\n    load: { adapter: vllm }\n    affinity: { prefix: {} }']
        : [`    balance: ${name === 'infergate-round-robin' ? 'round-robin' : 'least-request'}`];
  let accepted = false;
  let lastMessage = '';
  for (const lines of candidates) {
    await writeFile(config, infergateYaml(port, adminPort, lines, healthPath, ports));
    const verdict = configAccepted(config);
    if (verdict.ok) {
      accepted = true;
      break;
    }
    lastMessage = verdict.message;
  }
  if (!accepted) {
    await rm(dir, { recursive: true, force: true });
    return { name, reason: `not available in this build (infergate check: ${lastMessage})` };
  }
  const child = spawnChild(name, process.execPath, [INFERGATE_CLI, '--config', config]);
  const stop = async (): Promise<void> => {
    await child.stop('SIGINT');
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForStatus(`http://127.0.0.1:${adminPort}/healthz`, 200, 10_000, exitReason(child));
    await waitAllBackendsReady(`http://127.0.0.1:${adminPort}`, ports.length, 15_000);
  } catch (error) {
    await stop();
    throw new Error(`${name} not ready: ${error instanceof Error ? error.message : String(error)}\n${child.tail()}`);
  }
  return { name, url: `http://127.0.0.1:${port}`, pid: child.pid, stop };
}

/** nginx least_conn as it is written for token streams: HTTP/1.1 keep-alive upstream, proxy_buffering off, long read timeout. */
export function nginxLeastConnConfig(dir: string, port: number, ports: readonly number[]): string {
  return nginxConfigFile(
    dir,
    'bench/lib/pool-targets.ts',
    `  client_max_body_size 0;
  upstream llm {
    least_conn;
${ports.map((p) => `    server 127.0.0.1:${p};`).join('\n')}
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${port};
    location = /__up { return 200 "up\\n"; }
    location / {
      proxy_pass http://llm;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_read_timeout 300s;
    }
  }`,
  );
}

/**
 * HAProxy leastconn with its active health check (option httpchk), keep-alive both sides; it streams without
 * buffering. `option http-no-delay` as a token-streaming deployment sets it: by default HAProxy sends with MSG_MORE
 * (TCP_CORK-like) and the kernel holds a lone small frame, such as the first SSE token, for up to ~200 ms (measured
 * here without it: TTFT p50 ~310 ms against ~100 ms for the others). HAProxy's configuration manual, option
 * http-no-delay; ray-project/ray#63353 turned it on by default for the same reason.
 */
export function haproxyLeastConnConfig(port: number, ports: readonly number[], healthPath: string): string {
  return `# generated by bench/lib/pool-targets.ts
global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 300s
  timeout server 300s
  http-reuse always
frontend llm_in
  bind 127.0.0.1:${port}
  default_backend llm
backend llm
  balance leastconn
  option http-no-delay
  option httpchk GET ${healthPath}
  http-check expect status 200
${ports.map((p, i) => `  server r${i} 127.0.0.1:${p} check inter 1s`).join('\n')}
`;
}

async function startNginx(name: PoolTargetName, ports: readonly number[]): Promise<PoolTarget | PoolTargetSkipped> {
  const binary = nginxBinary();
  if (binary === undefined) return { name, reason: 'nginx not installed (apt-get install -y nginx)' };
  const dir = await mkdtemp(join(tmpdir(), 'nginx-llm-'));
  await mkdir(join(dir, 'logs'));
  const port = await freePort();
  const config = join(dir, 'nginx.conf');
  await writeFile(config, nginxLeastConnConfig(dir, port, ports));
  const child = spawnChild(name, binary, ['-p', dir, '-c', config, '-e', join(dir, 'error.log'), '-g', 'daemon off;']);
  return waitUp(name, child, `http://127.0.0.1:${port}`, '/__up', dir);
}

async function startHaproxy(name: PoolTargetName, ports: readonly number[], healthPath: string): Promise<PoolTarget | PoolTargetSkipped> {
  const binary = haproxyBinary();
  if (binary === undefined) return { name, reason: 'haproxy not installed (apt-get install -y haproxy)' };
  const dir = await mkdtemp(join(tmpdir(), 'haproxy-llm-'));
  const port = await freePort();
  const config = join(dir, 'haproxy.cfg');
  await writeFile(config, haproxyLeastConnConfig(port, ports, healthPath));
  const child = spawnChild(name, binary, ['-db', '-f', config]);
  return waitUp(name, child, `http://127.0.0.1:${port}`, healthPath, dir);
}

async function waitUp(name: PoolTargetName, child: Child, url: string, path: string, dir: string): Promise<PoolTarget> {
  const stop = async (): Promise<void> => {
    await child.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForStatus(`${url}${path}`, 200, 10_000, exitReason(child));
    // HAProxy marks servers up after its first check round; give it that round.
    await new Promise((r) => setTimeout(r, 1200));
  } catch (error) {
    await stop();
    throw new Error(`${name} not ready: ${error instanceof Error ? error.message : String(error)}\n${child.tail()}`);
  }
  return { name, url, pid: child.pid, stop };
}

/** Starts the wanted targets over `ports`; one that cannot start (or a config this build refuses) becomes a skipped row. */
export async function startPoolTargets(
  names: readonly PoolTargetName[],
  ports: readonly number[],
  healthPath: string,
): Promise<{ running: PoolTarget[]; skipped: PoolTargetSkipped[] }> {
  const running: PoolTarget[] = [];
  const skipped: PoolTargetSkipped[] = [];
  for (const name of names) {
    try {
      const result = name.startsWith('infergate')
        ? await startInfergate(name, ports, healthPath)
        : name === 'nginx-least-conn'
          ? await startNginx(name, ports)
          : await startHaproxy(name, ports, healthPath);
      if ('reason' in result) skipped.push(result);
      else running.push(result);
    } catch (error) {
      skipped.push({ name, reason: error instanceof Error ? (error.message.split('\n')[0] ?? 'failed') : String(error) });
      process.stderr.write(`[bench] ${name} failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
    }
  }
  return { running, skipped };
}

export async function stopPoolTargets(targets: readonly PoolTarget[]): Promise<void> {
  await Promise.allSettled(targets.map((t) => t.stop()));
}

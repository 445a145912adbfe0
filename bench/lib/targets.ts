/** Starts each system under test in its own process (backend, infergate, bare undici loop, http-proxy, nginx) and stops them. */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exitReason, spawnChild, waitForPortLine, type Child } from './children.ts';
import { freePort, waitForStatus } from './net.ts';

export type TargetName =
  | 'direct'
  | 'infergate'
  | 'infergate-baseline'
  | 'undici'
  | 'http-proxy'
  | 'http-proxy-keepalive'
  | 'fastify'
  | 'nginx'
  | 'nginx-default'
  | 'haproxy';
export const ALL_TARGETS: readonly TargetName[] = ['direct', 'infergate', 'undici', 'http-proxy', 'nginx'];
export const TARGET_LABELS: Record<TargetName, string> = {
  direct: 'backend direct',
  infergate: 'infergate',
  'infergate-baseline': 'infergate (baseline)',
  undici: 'bare undici loop',
  'http-proxy': 'http-proxy (naive)',
  'http-proxy-keepalive': 'http-proxy (keep-alive agent)',
  fastify: 'fastify + @fastify/reply-from',
  nginx: 'nginx (1 worker)',
  'nginx-default': 'nginx (stock proxy_pass)',
  haproxy: 'HAProxy (1 thread)',
};

export interface Running {
  readonly name: TargetName;
  /** Base URL, no trailing slash. */
  readonly url: string;
  /** The process that does the proxying (absent for `direct`), e.g. for RSS sampling. */
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

export interface Skipped {
  readonly name: TargetName;
  readonly skipped: string;
}

const BENCH_DIR = dirname(dirname(fileURLToPath(import.meta.url)));
const REPO_DIR = dirname(BENCH_DIR);
export const INFERGATE_CLI = process.env.INFERGATE_CLI ?? join(REPO_DIR, 'dist', 'cli.js');
/** A second infergate build (e.g. the commit before a refactor) to measure side by side with INFERGATE_CLI (`small` only). */
const baselineEnv = process.env.BENCH_BASELINE_CLI?.trim() ?? '';
/**
 * BENCH_WORKERS=N (default 1): nginx `worker_processes N`, HAProxy `nbthread N` and infergate `workers: N` (a build
 * without that key refuses the config). For the `peers` scenario's "N workers" comparison; 1 changes nothing.
 */
export const WORKERS = Math.max(1, Math.round(Number(process.env.BENCH_WORKERS ?? '1')) || 1);
export const BASELINE_CLI = baselineEnv === '' ? undefined : resolve(baselineEnv);

function nodeServer(name: string, script: string, args: readonly string[]): Child {
  return spawnChild(name, process.execPath, ['--no-warnings', join(BENCH_DIR, 'servers', script), ...args]);
}

export async function startBackend(): Promise<Running & { port: number }> {
  const child = nodeServer('backend', 'backend.ts', []);
  const port = await waitForPortLine(child);
  return { name: 'direct', url: `http://127.0.0.1:${port}`, port, pid: child.pid, stop: () => child.stop() };
}

/** Targets filtered by BENCH_TARGETS (comma list), keeping the given order. */
export function selectTargets(wanted: readonly TargetName[]): TargetName[] {
  const filter = process.env.BENCH_TARGETS;
  if (filter === undefined || filter.trim() === '') return [...wanted];
  const allowed = new Set(filter.split(',').map((s) => s.trim()));
  return wanted.filter((name) => allowed.has(name));
}

/**
 * With BENCH_BASELINE_CLI set: `names` plus infergate-baseline, right after infergate (last if infergate is not
 * selected). BENCH_TARGETS does not filter it out: setting the variable is the opt-in.
 */
export function withBaseline(names: readonly TargetName[]): TargetName[] {
  if (BASELINE_CLI === undefined || names.includes('infergate-baseline')) return [...names];
  const at = names.indexOf('infergate');
  if (at === -1) return [...names, 'infergate-baseline'];
  return [...names.slice(0, at + 1), 'infergate-baseline', ...names.slice(at + 1)];
}

export async function startTarget(name: TargetName, backend: Running & { port: number }): Promise<Running | Skipped> {
  switch (name) {
    case 'direct':
      return { name, url: backend.url, pid: undefined, stop: async () => {} };
    case 'undici':
      return startNodeProxy(name, 'undici-loop.ts', backend.url);
    case 'http-proxy':
      return startNodeProxy(name, 'http-proxy.ts', backend.url);
    case 'http-proxy-keepalive':
      return startNodeProxy(name, 'http-proxy-keepalive.ts', backend.url);
    case 'fastify':
      return startNodeProxy(name, 'fastify-reply-from.ts', backend.url);
    case 'haproxy':
      return startHaproxy(name, backend.port);
    case 'infergate':
      return startInfergate(name, INFERGATE_CLI, backend.port);
    case 'infergate-baseline':
      if (BASELINE_CLI === undefined) return { name, skipped: 'BENCH_BASELINE_CLI not set' };
      return startInfergate(name, BASELINE_CLI, backend.port);
    case 'nginx':
      return startNginx(name, backend.port, true);
    case 'nginx-default':
      return startNginx(name, backend.port, false);
    default: {
      const unknown: never = name;
      throw new Error(`unknown target ${String(unknown)}`);
    }
  }
}

async function startNodeProxy(name: TargetName, script: string, backendUrl: string): Promise<Running> {
  const child = nodeServer(name, script, [backendUrl]);
  const port = await waitForPortLine(child);
  return { name, url: `http://127.0.0.1:${port}`, pid: child.pid, stop: () => child.stop() };
}

async function withTempDir<T>(prefix: string, use: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  try {
    return await use(dir);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** `cli` is INFERGATE_CLI or BASELINE_CLI: both builds get the same generated config. */
async function startInfergate(name: TargetName, cli: string, backendPort: number): Promise<Running | Skipped> {
  if (!existsSync(cli)) return { name, skipped: `${cli} not found (run npm run build)` };
  return withTempDir('infergate-bench-', async (dir) => {
    const port = await freePort();
    const adminPort = await freePort();
    const config = join(dir, 'infergate.yaml');
    await writeFile(
      config,
      [
        `listen: 127.0.0.1:${port}`,
        `admin: { listen: 127.0.0.1:${adminPort} }`,
        // BENCH_INFERGATE_ACCESS_LOG=true (or a YAML map such as `{ to: /tmp/a.log, format: combined }`) measures the access log's cost.
        `log: { level: warn, accessLog: ${process.env.BENCH_INFERGATE_ACCESS_LOG ?? 'false'} }`,
        ...(WORKERS > 1 ? [`workers: ${WORKERS}`] : []),
        'pools:',
        '  bench:',
        '    balance: round-robin',
        '    health: { readiness: { path: /health, interval: 1s } }',
        `    backends: [http://127.0.0.1:${backendPort}]`,
        '',
      ].join('\n'),
    );
    // e.g. BENCH_INFERGATE_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile infergate under the bench's load.
    const nodeArgs = (process.env.BENCH_INFERGATE_NODE_ARGS ?? '').split(' ').filter((arg) => arg !== '');
    const child = spawnChild(name, process.execPath, [...nodeArgs, cli, '--config', config]);
    const stop = async (): Promise<void> => {
      // SIGINT drains at once (SIGTERM waits shutdown.grace, longer than the bench's stop grace): the process then
      // exits by itself, which is also when --cpu-prof writes its profile.
      await child.stop('SIGINT');
      await rm(dir, { recursive: true, force: true });
    };
    try {
      // Backends start LOADING until their first passing check; load before that would only measure queueing.
      await waitForStatus(`http://127.0.0.1:${adminPort}/readyz`, 200, 10_000, exitReason(child));
    } catch (error) {
      await stop();
      throw new Error(`${name} not ready: ${error instanceof Error ? error.message : String(error)}\n${child.tail()}`);
    }
    return { name, url: `http://127.0.0.1:${port}`, pid: child.pid, stop };
  });
}

export function nginxVersion(): string | undefined {
  const binary = nginxBinary();
  if (binary === undefined) return undefined;
  // `nginx -v` prints to stderr, e.g. "nginx version: nginx/1.22.1"
  const result = spawnSync(binary, ['-v'], { encoding: 'utf8' });
  const text = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim();
  return text === '' ? undefined : text.replace(/^nginx version:\s*/, '');
}

export function nginxBinary(): string | undefined {
  for (const candidate of ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx', '/usr/bin/nginx']) {
    if (existsSync(candidate)) return candidate;
  }
  try {
    return execFileSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * nginx in front of one backend with one worker and default buffering. `tuned` adds what a production config has
 * (upstream keep-alive, HTTP/1.1 upstream); without it this is a stock `proxy_pass` (HTTP/1.0 upstream, no keep-alive).
 */
export function nginxConfig(dir: string, port: number, backendPort: number, tuned: boolean): string {
  const location = tuned
    ? `proxy_pass http://bench_backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";`
    : `proxy_pass http://bench_backend;`;
  const file = nginxConfigFile(dir, 'bench/lib/targets.ts', `  client_max_body_size 0;
  upstream bench_backend {
    server 127.0.0.1:${backendPort};
    ${tuned ? 'keepalive 64;' : ''}
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      ${location}
    }
  }`);
  return WORKERS > 1 ? file.replace('worker_processes 1;', `worker_processes ${WORKERS};`) : file;
}

/**
 * A whole nginx.conf around `http` directives: one worker, pid, logs and temp paths under `dir` (our own
 * master with a temp prefix: the system nginx is never touched). Shared by every scenario that runs nginx.
 */
export function nginxConfigFile(dir: string, generator: string, http: string): string {
  return `# generated by ${generator}
${process.getuid?.() === 0 ? 'user root;' : ''}
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${http}
}
`;
}

async function startNginx(name: TargetName, backendPort: number, tuned: boolean): Promise<Running | Skipped> {
  const binary = nginxBinary();
  if (binary === undefined) return { name, skipped: 'nginx not installed (apt-get install -y nginx)' };
  return withTempDir('nginx-bench-', async (dir) => {
    const port = await freePort();
    await mkdir(join(dir, 'logs'));
    const config = join(dir, 'nginx.conf');
    await writeFile(config, nginxConfig(dir, port, backendPort, tuned));
    const child = spawnChild(name, binary, ['-p', dir, '-c', config, '-e', join(dir, 'error.log'), '-g', 'daemon off;']);
    const stop = async (): Promise<void> => {
      await child.stop();
      await rm(dir, { recursive: true, force: true });
    };
    try {
      await waitForStatus(`http://127.0.0.1:${port}/health`, 200, 10_000, exitReason(child));
    } catch (error) {
      await stop();
      throw new Error(`${name} not ready: ${error instanceof Error ? error.message : String(error)}\n${child.tail()}`);
    }
    return { name, url: `http://127.0.0.1:${port}`, pid: child.pid, stop };
  });
}

export function haproxyBinary(): string | undefined {
  for (const candidate of ['/usr/sbin/haproxy', '/usr/local/sbin/haproxy', '/usr/bin/haproxy']) if (existsSync(candidate)) return candidate;
  return undefined;
}

/**
 * HAProxy in front of one backend as a production config has it: one thread (infergate's one worker), HTTP mode,
 * keep-alive both sides (its default) and `http-reuse always` (idle server connections shared between client
 * connections), no logging, the usual timeouts.
 */
export function haproxyConfig(port: number, backendPort: number): string {
  return `# generated by bench/lib/targets.ts
global
  nbthread ${WORKERS}
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  http-reuse always
frontend bench_in
  bind 127.0.0.1:${port}
  default_backend bench_backend
backend bench_backend
  server b1 127.0.0.1:${backendPort}
`;
}

async function startHaproxy(name: TargetName, backendPort: number): Promise<Running | Skipped> {
  const binary = haproxyBinary();
  if (binary === undefined) return { name, skipped: 'haproxy not installed (apt-get install -y haproxy)' };
  return withTempDir('haproxy-bench-', async (dir) => {
    const port = await freePort();
    const config = join(dir, 'haproxy.cfg');
    await writeFile(config, haproxyConfig(port, backendPort));
    const child = spawnChild(name, binary, ['-db', '-f', config]);
    const stop = async (): Promise<void> => {
      await child.stop();
      await rm(dir, { recursive: true, force: true });
    };
    try {
      await waitForStatus(`http://127.0.0.1:${port}/health`, 200, 10_000, exitReason(child));
    } catch (error) {
      await stop();
      throw new Error(`${name} not ready: ${error instanceof Error ? error.message : String(error)}\n${child.tail()}`);
    }
    return { name, url: `http://127.0.0.1:${port}`, pid: child.pid, stop };
  });
}

/**
 * The peers scenario's backend: nginx answering the same 73-byte JSON from memory (`return 200`), with as many
 * workers as cores, so the backend stays far from the proxies' rates and costs little CPU per response.
 */
export async function startNginxBackend(body: string): Promise<Running & { port: number }> {
  const binary = nginxBinary();
  if (binary === undefined) throw new Error('nginx not installed (apt-get install -y nginx)');
  return withTempDir('nginx-backend-', async (dir) => {
    const port = await freePort();
    await mkdir(join(dir, 'logs'));
    const config = join(dir, 'nginx.conf');
    const http = `  server {
    listen 127.0.0.1:${port} backlog=4096;
    keepalive_requests 1000000;
    location = /health { default_type application/json; return 200 '{"status":"Healthy"}'; }
    location / { default_type application/json; return 200 '${body}'; }
  }`;
    await writeFile(config, nginxConfigFile(dir, 'bench/lib/targets.ts (backend)', http).replace('worker_processes 1;', 'worker_processes auto;'));
    const child = spawnChild('nginx-backend', binary, ['-p', dir, '-c', config, '-e', join(dir, 'error.log'), '-g', 'daemon off;']);
    const stop = async (): Promise<void> => {
      await child.stop();
      await rm(dir, { recursive: true, force: true });
    };
    try {
      await waitForStatus(`http://127.0.0.1:${port}/health`, 200, 10_000, exitReason(child));
    } catch (error) {
      await stop();
      throw error;
    }
    return { name: 'direct', url: `http://127.0.0.1:${port}`, port, pid: child.pid, stop };
  });
}

/** Starts the wanted targets; a target that cannot start becomes a skipped row rather than failing the run. */
export async function startTargets(names: readonly TargetName[], backend: Running & { port: number }): Promise<{
  running: Running[];
  skipped: Skipped[];
}> {
  const running: Running[] = [];
  const skipped: Skipped[] = [];
  for (const name of names) {
    try {
      const result = await startTarget(name, backend);
      if ('skipped' in result) skipped.push(result);
      else running.push(result);
    } catch (error) {
      skipped.push({ name, skipped: error instanceof Error ? error.message.split('\n')[0] ?? 'failed' : String(error) });
      process.stderr.write(`[bench] ${name} failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
    }
  }
  return { running, skipped };
}

export async function stopTargets(running: readonly Running[]): Promise<void> {
  await Promise.allSettled(running.map((target) => target.stop()));
}

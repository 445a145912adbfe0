/** The replica-fleet scenarios' systems: one process of fake model servers with a control port, and infergate / nginx pools in front of all of them. */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exitReason, spawnChild, type Child } from './children.ts';
import { freePort, waitForStatus } from './net.ts';
import { INFERGATE_CLI, nginxBinary, nginxConfigFile } from './targets.ts';

const BENCH_DIR = dirname(dirname(fileURLToPath(import.meta.url)));

export type FleetTargetName = 'infergate' | 'nginx' | 'nginx-next-upstream';
export const FLEET_TARGETS: readonly FleetTargetName[] = ['infergate', 'nginx', 'nginx-next-upstream'];
export const FLEET_LABELS: Record<FleetTargetName, string> = {
  infergate: 'infergate',
  nginx: 'nginx rr, max_fails=1 fail_timeout=2s',
  'nginx-next-upstream': 'nginx rr, same + next_upstream http_503 non_idempotent',
};

export interface FleetTarget {
  readonly name: FleetTargetName;
  readonly url: string;
  /** infergate only: its admin listener, to read backend states after a run. */
  readonly adminUrl?: string;
  stop(): Promise<void>;
}

export interface Fleet {
  /** Model server ports, in the order of the versions given. */
  readonly ports: readonly number[];
  /** POST a control command, e.g. `load?i=0&ms=2000`; resolves with the answer's JSON. */
  control(command: string): Promise<unknown>;
  stop(): Promise<void>;
}

/** Targets filtered by BENCH_TARGETS (comma list of infergate, nginx, nginx-next-upstream). */
export function selectFleetTargets(): FleetTargetName[] {
  const filter = (process.env.BENCH_TARGETS ?? '').trim();
  if (filter === '') return [...FLEET_TARGETS];
  const allowed = new Set(filter.split(',').map((s) => s.trim()));
  return FLEET_TARGETS.filter((n) => allowed.has(n));
}

function firstJsonLine(child: Child, timeoutMs = 10_000): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString('utf8');
      const nl = buffered.indexOf('\n');
      if (nl === -1) return;
      done();
      try {
        resolve(JSON.parse(buffered.slice(0, nl)) as Record<string, unknown>);
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${child.name} printed nothing within ${timeoutMs} ms:\n${child.tail()}`));
    }, timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      child.proc.stdout?.off('data', onData);
    };
    child.proc.stdout?.on('data', onData);
  });
}

/** Starts one process holding a model server per version (e.g. ['2', '2', '2', '1']), all loaded. */
export async function startFleet(versions: readonly string[], latencyMs = 2): Promise<Fleet> {
  const child = spawnChild('model-backends', process.execPath, ['--no-warnings', join(BENCH_DIR, 'servers', 'model-backend.ts'), versions.join(','), String(latencyMs)]);
  const line = await firstJsonLine(child);
  const controlPort = line.port as number;
  return {
    ports: line.backends as number[],
    async control(command: string): Promise<unknown> {
      const res = await fetch(`http://127.0.0.1:${controlPort}/${command}`, { method: 'POST', signal: AbortSignal.timeout(15_000) });
      const body: unknown = await res.json();
      if (!res.ok) throw new Error(`control ${command}: ${res.status} ${JSON.stringify(body)}`);
      return body;
    },
    stop: () => child.stop(),
  };
}

export interface InfergatePool {
  /** Pool YAML lines after `backends:` is added (indented by 4). */
  poolYaml: string;
  /** Wait until every backend is READY before returning (rolling restart), or only until the listener is up (scale-up). */
  waitAllReady: boolean;
}

export async function startFleetInfergate(ports: readonly number[], pool: InfergatePool): Promise<FleetTarget> {
  if (!existsSync(INFERGATE_CLI)) throw new Error(`${INFERGATE_CLI} not found (run npm run build)`);
  const dir = await mkdtemp(join(tmpdir(), 'infergate-fleet-'));
  const port = await freePort();
  const adminPort = await freePort();
  const config = join(dir, 'infergate.yaml');
  await writeFile(
    config,
    [
      `listen: 127.0.0.1:${port}`,
      `admin: { listen: 127.0.0.1:${adminPort} }`,
      'log: { level: warn, accessLog: false }',
      'pools:',
      '  fleet:',
      pool.poolYaml.trimEnd(),
      `    backends: [${ports.map((p) => `http://127.0.0.1:${p}`).join(', ')}]`,
      '',
    ].join('\n'),
  );
  const child = spawnChild('infergate', process.execPath, [INFERGATE_CLI, '--config', config]);
  const stop = async (): Promise<void> => {
    await child.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForStatus(`http://127.0.0.1:${adminPort}/healthz`, 200, 10_000, exitReason(child));
    if (pool.waitAllReady) await waitAllBackendsReady(`http://127.0.0.1:${adminPort}`, ports.length, 15_000);
  } catch (error) {
    await stop();
    throw new Error(`infergate not ready: ${error instanceof Error ? error.message : String(error)}\n${child.tail()}`);
  }
  return { name: 'infergate', url: `http://127.0.0.1:${port}`, adminUrl: `http://127.0.0.1:${adminPort}`, stop };
}

/** Polls /admin/backends (every 100 ms, bounded) until `count` backends are READY. */
export async function waitAllBackendsReady(adminUrl: string, count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let states = '';
  while (Date.now() < deadline) {
    const res = await fetch(`${adminUrl}/admin/backends`, { signal: AbortSignal.timeout(1000) });
    const body = (await res.json()) as { backends: Array<{ state: string }> };
    states = body.backends.map((b) => b.state).join(',');
    if (body.backends.filter((b) => b.state === 'READY').length >= count) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`backends not all READY within ${timeoutMs} ms (${states})`);
}

/** nginx directives of each fleet target; the README's table quotes these. */
export const NGINX_NEXT_UPSTREAM: Record<'nginx' | 'nginx-next-upstream', string> = {
  // nginx's default: a refused connection or a timeout moves on to the next server; a 503 answer is passed to the client.
  nginx: 'proxy_next_upstream error timeout;',
  // 503 also moves on (and counts against max_fails); non_idempotent is needed for POST, which nginx otherwise never resends once sent.
  'nginx-next-upstream': 'proxy_next_upstream error timeout http_503 non_idempotent;',
};

/** nginx (one worker, one master) with one listener per variant, each with its own round-robin upstream block over the fleet. */
export function fleetNginxConfig(dir: string, listeners: ReadonlyMap<'nginx' | 'nginx-next-upstream', number>, ports: readonly number[]): string {
  const servers = ports.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=2s;`).join('\n');
  const blocks = [...listeners].map(
    ([name, port]) => `
  upstream ${name.replaceAll('-', '_')} {
${servers}
    keepalive 32;
  }
  server {
    listen 127.0.0.1:${port};
    location = /__up { return 200 "up\\n"; }
    location / {
      proxy_pass http://${name.replaceAll('-', '_')};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      ${NGINX_NEXT_UPSTREAM[name]}
    }
  }`,
  );
  return nginxConfigFile(dir, 'bench/lib/fleet.ts', blocks.join('\n'));
}

/** One nginx process serving the wanted nginx variants; null when nginx is not installed. */
export async function startFleetNginx(names: ReadonlyArray<'nginx' | 'nginx-next-upstream'>, ports: readonly number[]): Promise<FleetTarget[] | null> {
  const binary = nginxBinary();
  if (binary === undefined || names.length === 0) return null;
  const dir = await mkdtemp(join(tmpdir(), 'nginx-fleet-'));
  await mkdir(join(dir, 'logs'));
  const listeners = new Map<'nginx' | 'nginx-next-upstream', number>();
  for (const name of names) listeners.set(name, await freePort());
  const config = join(dir, 'nginx.conf');
  await writeFile(config, fleetNginxConfig(dir, listeners, ports));
  // Our own master in the foreground with a temp prefix: the system nginx service is never started or touched.
  const child = spawnChild('nginx-fleet', binary, ['-p', dir, '-c', config, '-e', join(dir, 'error.log'), '-g', 'daemon off;']);
  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopped ??= child.stop().then(() => rm(dir, { recursive: true, force: true }));
    return stopped;
  };
  try {
    for (const port of listeners.values()) await waitForStatus(`http://127.0.0.1:${port}/__up`, 200, 10_000, exitReason(child));
  } catch (error) {
    await stop();
    throw error;
  }
  return [...listeners].map(([name, port]) => ({ name, url: `http://127.0.0.1:${port}`, stop }));
}

/** infergate's view of its backends after a run, e.g. "READY,READY,EJECTED". */
export async function backendStates(target: FleetTarget): Promise<string | null> {
  if (target.adminUrl === undefined) return null;
  const res = await fetch(`${target.adminUrl}/admin/backends`, { signal: AbortSignal.timeout(2000) });
  const body = (await res.json()) as { backends: Array<{ state: string }> };
  return body.backends.map((b) => b.state).join(',');
}

/** Starts the wanted fleet targets (infergate, then one nginx for both nginx variants); a target that cannot start is reported as skipped. */
export async function startFleetTargets(
  names: readonly FleetTargetName[],
  ports: readonly number[],
  infergatePool: InfergatePool,
): Promise<{ running: FleetTarget[]; skipped: Array<{ name: FleetTargetName; reason: string }> }> {
  const running: FleetTarget[] = [];
  const skipped: Array<{ name: FleetTargetName; reason: string }> = [];
  if (names.includes('infergate')) {
    try {
      running.push(await startFleetInfergate(ports, infergatePool));
    } catch (error) {
      skipped.push({ name: 'infergate', reason: error instanceof Error ? (error.message.split('\n')[0] ?? 'failed') : String(error) });
    }
  }
  const nginxNames = names.filter((n): n is 'nginx' | 'nginx-next-upstream' => n !== 'infergate');
  if (nginxNames.length > 0) {
    try {
      const started = await startFleetNginx(nginxNames, ports);
      if (started === null) for (const name of nginxNames) skipped.push({ name, reason: 'nginx not installed (apt-get install -y nginx)' });
      else running.push(...started);
    } catch (error) {
      for (const name of nginxNames) skipped.push({ name, reason: error instanceof Error ? (error.message.split('\n')[0] ?? 'failed') : String(error) });
    }
  }
  return { running, skipped };
}

export async function stopFleetTargets(targets: readonly FleetTarget[]): Promise<void> {
  await Promise.allSettled(targets.map((t) => t.stop()));
}

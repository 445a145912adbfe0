/**
 * Targets of the edge scenarios (h2, grpc, tls): infergate and nginx started from a config the scenario writes (TLS
 * listeners, h2c, grpc_pass), a self-signed certificate both share, and a TCP wait for listeners that speak no HTTP/1.1.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { exitReason, spawnChild, waitForPortLine, type Child } from './children.ts';
import { waitForStatus } from './net.ts';
import { INFERGATE_CLI, nginxBinary, nginxConfigFile, nginxVersion } from './targets.ts';

const BENCH_DIR = dirname(dirname(fileURLToPath(import.meta.url)));

export interface Started {
  readonly pid: number;
  stop(): Promise<void>;
}

export interface Cert {
  readonly dir: string;
  readonly cert: string;
  readonly key: string;
  /** How it was made, for the report. */
  readonly description: string;
  remove(): Promise<void>;
}

/**
 * A self-signed RSA 2048 certificate for 127.0.0.1 / localhost (cert-manager's and most CAs' default key type), made
 * with openssl at bench time; infergate and nginx load the same files, so both do the same handshake work.
 */
export async function makeCert(): Promise<Cert> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-cert-'));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
      { stdio: 'pipe' },
    );
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`openssl could not make a certificate (apt-get install -y openssl): ${error instanceof Error ? error.message : String(error)}`);
  }
  return { dir, cert, key, description: 'self-signed RSA 2048 (openssl req -x509 -newkey rsa:2048), SAN 127.0.0.1', remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Polls until something accepts TCP connections on `port` (an h2c-only or TLS listener answers no plain HTTP/1.1). */
export async function waitForPort(port: number, timeoutMs: number, giveUp: () => string | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const reason = giveUp();
    if (reason !== undefined) throw new Error(reason);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`nothing listening on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

/** One of our Node servers (bench/servers/<script>), started and waited for; returns its port. */
export async function startNodeServer(name: string, script: string, args: readonly string[] = []): Promise<Started & { port: number }> {
  const child: Child = spawnChild(name, process.execPath, ['--no-warnings', join(BENCH_DIR, 'servers', script), ...args]);
  const port = await waitForPortLine(child);
  return { pid: child.pid, port, stop: () => child.stop() };
}

/** infergate with `config` (YAML text); ready when admin /readyz answers 200 (its backends passed their first probe). */
export async function startInfergateConfig(name: string, config: string, adminPort: number): Promise<Started> {
  if (!existsSync(INFERGATE_CLI)) throw new Error(`${INFERGATE_CLI} not found (run npm run build)`);
  const dir = await mkdtemp(join(tmpdir(), 'infergate-bench-'));
  const file = join(dir, 'infergate.yaml');
  await writeFile(file, config);
  const child = spawnChild(name, process.execPath, [INFERGATE_CLI, '--config', file]);
  const stop = async (): Promise<void> => {
    await child.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForStatus(`http://127.0.0.1:${adminPort}/readyz`, 200, 15_000, exitReason(child));
  } catch (error) {
    await stop();
    throw new Error(`${name} not ready: ${error instanceof Error ? error.message : String(error)}\n${child.tail()}`);
  }
  return { pid: child.pid, stop };
}

/** nginx (one worker, temp prefix) with `http` directives; ready when `port` accepts connections. */
export async function startNginxConfig(name: string, http: string, port: number): Promise<Started & { config: string }> {
  const binary = nginxBinary();
  if (binary === undefined) throw new Error('nginx not installed (apt-get install -y nginx)');
  const dir = await mkdtemp(join(tmpdir(), 'nginx-bench-'));
  await mkdir(join(dir, 'logs'));
  const config = nginxConfigFile(dir, 'bench/lib/edge.ts', http);
  const file = join(dir, 'nginx.conf');
  await writeFile(file, config);
  const child = spawnChild(name, binary, ['-p', dir, '-c', file, '-e', join(dir, 'error.log'), '-g', 'daemon off;']);
  const stop = async (): Promise<void> => {
    await child.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, 10_000, exitReason(child));
  } catch (error) {
    await stop();
    throw new Error(`${name} not ready: ${error instanceof Error ? error.message : String(error)}\n${child.tail()}`);
  }
  return { pid: child.pid, stop, config };
}

/** nginx before 1.25.1 turns HTTP/2 on with `listen ... http2`; later versions deprecate that for `http2 on;`. */
export function nginxHttp2Syntax(): 'listen-flag' | 'directive' {
  return versionAtLeast(nginxVersion() ?? '', [1, 25, 1]) ? 'directive' : 'listen-flag';
}

function versionAtLeast(text: string, want: readonly number[]): boolean {
  const m = /nginx\/(\d+)\.(\d+)\.(\d+)/.exec(text);
  if (m === null) return true;
  const have = [Number(m[1]), Number(m[2]), Number(m[3])];
  for (let i = 0; i < 3; i += 1) {
    if ((have[i] ?? 0) !== (want[i] ?? 0)) return (have[i] ?? 0) > (want[i] ?? 0);
  }
  return true;
}

/** A `listen` line with HTTP/2 on, in the syntax this nginx understands (plus `http2 on;` on 1.25.1+). */
export function nginxH2Listen(port: number, tls: boolean): string {
  const ssl = tls ? ' ssl' : '';
  return nginxHttp2Syntax() === 'directive' ? `listen 127.0.0.1:${port}${ssl};\n    http2 on;` : `listen 127.0.0.1:${port}${ssl} http2;`;
}

/**
 * The TLS lines of an nginx server block. ssl_protocols is spelled out: nginx before 1.23.4 leaves TLSv1.3 out by
 * default, and infergate negotiates 1.3, so without it the two would not do the same handshake.
 */
export function nginxTls(cert: Cert): string {
  return `ssl_certificate ${cert.cert};
    ssl_certificate_key ${cert.key};
    ssl_protocols TLSv1.2 TLSv1.3;`;
}

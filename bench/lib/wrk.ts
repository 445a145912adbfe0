/**
 * Drives one fixed-concurrency run with wrk (C, epoll, one thread) and parses its report. wrk rather than autocannon
 * for the peers scenario: autocannon runs in Node and needs about a core of its own at nginx's rates, so on a 2-core
 * machine it would cap the fastest peers and flatter the slow ones; wrk costs a fraction of that per request.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface WrkResult {
  requestsPerSec: number;
  totalRequests: number;
  p50Ms: number;
  p99Ms: number;
  /** Socket errors (connect, read, write) plus timeouts plus non-2xx/3xx answers. */
  errors: number;
  durationSec: number;
}

export function wrkBinary(): string | undefined {
  for (const candidate of ['/usr/bin/wrk', '/usr/local/bin/wrk']) if (existsSync(candidate)) return candidate;
  return undefined;
}

function toMs(value: string, unit: string): number {
  const n = Number(value);
  if (unit === 'us') return n / 1000;
  if (unit === 's') return n * 1000;
  if (unit === 'm') return n * 60_000;
  return n;
}

export function parseWrk(text: string): WrkResult {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(text);
  const total = /(\d+) requests in ([\d.]+)(us|ms|s|m)/.exec(text);
  if (rps === null || total === null) throw new Error(`cannot parse wrk output:\n${text}`);
  const pct = (p: string): number => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)`, 'm').exec(text);
    return m === null ? Number.NaN : toMs(m[1] ?? '', m[2] ?? 'ms');
  };
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  const socketErrors = socket === null ? 0 : socket.slice(1).reduce((sum, n) => sum + Number(n), 0);
  return {
    requestsPerSec: Number(rps[1]),
    totalRequests: Number(total[1]),
    p50Ms: pct('50'),
    p99Ms: pct('99'),
    errors: socketErrors + (non2xx === null ? 0 : Number(non2xx[1])),
    durationSec: toMs(total[2] ?? '0', total[3] ?? 's') / 1000,
  };
}

export function runWrk(url: string, opts: { connections: number; durationSec: number; threads?: number }): Promise<WrkResult> {
  const binary = wrkBinary();
  if (binary === undefined) return Promise.reject(new Error('wrk not installed (apt-get install -y wrk)'));
  const args = [`-t${opts.threads ?? 1}`, `-c${opts.connections}`, `-d${opts.durationSec}s`, '--latency', '--timeout', '10s', url];
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`wrk exited with ${code}:\n${out}`));
      else {
        try {
          resolve(parseWrk(out));
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      }
    });
  });
}

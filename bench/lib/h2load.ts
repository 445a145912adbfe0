/**
 * h2load (nghttp2-client) as the HTTP/2 load generator: C, one thread, so it costs far less CPU per request than a
 * Node client on the same 2 cores. Throughput from its summary; p50/p99 from its per-request log (--log-file).
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { percentile, round } from './report.ts';

export interface H2loadOptions {
  /** Concurrent connections (h2load -c). */
  clients: number;
  /** Streams in flight per connection (h2load -m); with --h1 it is the pipelining depth, so keep 1 there. */
  streams: number;
  /** Timed run (h2load -D) in seconds; or `requests` for a fixed count. */
  durationSec?: number;
  requests?: number;
  /** Force HTTP/1.1 (h2load --h1); default HTTP/2: h2c prior knowledge for http://, ALPN h2 for https://. */
  h1?: boolean;
  /** Request body file: the method becomes POST (h2load -d). */
  dataFile?: string;
  headers?: readonly string[];
}

export interface H2loadResult {
  requestsPerSec: number;
  total: number;
  succeeded: number;
  failed: number;
  errored: number;
  timeout: number;
  /** Responses with a status other than 2xx (from the per-request log). */
  non2xx: number;
  p50Ms: number;
  p99Ms: number;
  meanConnectMs: number;
  /** Mean time from the start of a connection to the first response byte (h2load "time to 1st byte"). */
  meanFirstByteMs: number;
  /** e.g. "TLSv1.3 TLS_AES_128_GCM_SHA256 X25519", or "" without TLS. */
  tls: string;
  /** Wall time h2load reports for the whole run ("finished in"). */
  elapsedSec: number;
  protocol: string;
}

export function h2loadVersion(): string | undefined {
  try {
    return execFileSync('h2load', ['--version'], { encoding: 'utf8' }).trim().split('\n')[0];
  } catch {
    return undefined;
  }
}

function seconds(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  if (m === null) return Number.NaN;
  const value = Number(m[1]);
  const unit = m[2];
  return unit === 'us' ? value / 1e6 : unit === 'ms' ? value / 1e3 : unit === 'm' ? value * 60 : value;
}

export async function runH2load(url: string, opts: H2loadOptions): Promise<H2loadResult> {
  const dir = await mkdtemp(join(tmpdir(), 'h2load-'));
  const log = join(dir, 'requests.tsv');
  const args = ['-t', '1', '-c', String(opts.clients), '-m', String(opts.streams), `--log-file=${log}`];
  if (opts.durationSec !== undefined) args.push('-D', String(opts.durationSec));
  else args.push('-n', String(opts.requests ?? 1000));
  if (opts.h1 === true) args.push('--h1');
  if (opts.dataFile !== undefined) args.push('-d', opts.dataFile);
  for (const header of opts.headers ?? []) args.push('-H', header);
  args.push(url);
  try {
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile('h2load', args, { maxBuffer: 16 * 2 ** 20, timeout: ((opts.durationSec ?? 60) + 60) * 1000 }, (error, out, err) => {
        if (error !== null) reject(new Error(`h2load ${args.join(' ')} failed: ${error.message}\n${out}\n${err}`));
        else resolve(out);
      });
    });
    const finished = /finished in ([\d.]+\w+), ([\d.]+) req\/s/.exec(stdout);
    const counts = /requests: (\d+) total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(stdout);
    const connect = /time for connect:\s+\S+\s+\S+\s+(\S+)/.exec(stdout);
    const protocol = /Application protocol: (\S+)/.exec(stdout);
    const firstByte = /time to 1st byte:\s+\S+\s+\S+\s+(\S+)/.exec(stdout);
    const tlsProtocol = /TLS Protocol: (\S+)/.exec(stdout);
    const cipher = /Cipher: (\S+)/.exec(stdout);
    const tempKey = /Server Temp Key: (\S+)/.exec(stdout);
    if (finished === null || counts === null) throw new Error(`cannot parse h2load output:\n${stdout}`);
    const latencies: number[] = [];
    let non2xx = 0;
    const text = await readFile(log, 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      const [, status, micros] = line.split('\t');
      if (micros === undefined) continue;
      latencies.push(Number(micros) / 1000);
      if (!(Number(status) >= 200 && Number(status) < 300)) non2xx += 1;
    }
    return {
      requestsPerSec: Number(finished[2]),
      total: Number(counts[1]),
      succeeded: Number(counts[2]),
      failed: Number(counts[3]),
      errored: Number(counts[4]),
      timeout: Number(counts[5]),
      non2xx,
      p50Ms: round(percentile(latencies, 50)),
      p99Ms: round(percentile(latencies, 99)),
      meanConnectMs: connect === null ? Number.NaN : round(seconds(connect[1] ?? '') * 1000),
      meanFirstByteMs: firstByte === null ? Number.NaN : round(seconds(firstByte[1] ?? '') * 1000),
      tls: [tlsProtocol?.[1], cipher?.[1], tempKey?.[1]].filter((v) => v !== undefined).join(' '),
      elapsedSec: seconds(finished[1] ?? ''),
      protocol: protocol?.[1] ?? 'unknown',
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

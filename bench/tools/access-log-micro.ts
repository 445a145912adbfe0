/**
 * Micro-benchmark of one access-log line's cost to the writer: building it (jsonLine), then handing it to sonic-boom
 * directly (as before) or through TickBatch (lines of one event-loop turn joined). Writes go to /dev/null, so this is
 * the JS cost only; one event-loop turn every 50 lines, about what 50 connections give under load.
 *
 *   npm run build && node bench/tools/access-log-micro.ts
 */
import { openSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';

const dist = join(dirname(dirname(dirname(fileURLToPath(import.meta.url)))), 'dist');
// The built modules (dist/), typed here by what this script uses: the bench type-checks apart from src/.
type Redactor = object;
const { jsonLine } = (await import(join(dist, 'observe/access-log.js'))) as { jsonLine(e: object, r: Redactor, nowMs: number): string };
const { QueryRedactor } = (await import(join(dist, 'observe/redact-query.js'))) as { QueryRedactor: new (names: string[]) => Redactor };
const { TickBatch } = (await import(join(dist, 'observe/tick-batch.js'))) as {
  TickBatch: new (target: ReturnType<typeof pino.destination>) => { write(line: string): boolean };
};

const LINES = 200_000;
const PER_TURN = 50;
const fd = openSync('/dev/null', 'w');
const redactor = new QueryRedactor(['token']);
const entry = {
  requestId: '0123456789abcdef0123456789abcdef', client: '127.0.0.1', peer: '127.0.0.1', proto: 'h1', httpVersion: '1.1', method: 'GET',
  url: '/predictions/bench', status: 200, upstreamStatus: 200, pool: 'bench', group: 'default', backend: 'http://127.0.0.1:4000', pick: 'weighted',
  fallbackFrom: null, attempts: 1, connectMs: -1, upstreamMs: 1.234, firstByteMs: 1.5, totalMs: 1.7, bytesIn: 0, bytesOut: 73,
  userAgent: undefined, referer: undefined, error: null, cut: null,
} as const;
const sonic = () => pino.destination({ dest: fd, sync: false, minLength: 4096 });

async function measure(name: string, write: (line: string) => void): Promise<number> {
  const started = process.hrtime.bigint();
  for (let i = 0; i < LINES; i++) {
    write(jsonLine(entry, redactor, 1_764_225_600_000 + (i >> 4)));
    if (i % PER_TURN === 0) await new Promise(setImmediate);
  }
  const us = Number(process.hrtime.bigint() - started) / 1000 / LINES;
  console.log(`| ${name} | ${us.toFixed(2)} |`);
  return us;
}

console.log('| per line (µs, median of 5 alternating runs) | |\n| --- | --- |');
const results: Record<string, number[]> = { build: [], direct: [], batched: [] };
for (let r = 0; r < 5; r++) {
  const silent = (name: string, write: (line: string) => void): Promise<number> => measure(name, write);
  results.build!.push(await silent('build only', () => undefined));
  const direct = sonic();
  results.direct!.push(await silent('sonic-boom directly', (l) => direct.write(l)));
  const batch = new TickBatch(sonic());
  results.batched!.push(await silent('TickBatch -> sonic-boom', (l) => batch.write(l)));
}
const med = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
console.log(`\nmedian µs/line: build ${med(results.build!).toFixed(2)}, sonic-boom directly ${med(results.direct!).toFixed(2)}, TickBatch ${med(results.batched!).toFixed(2)}`);

/** SSE streaming: time to headers, to the first event and to the last, through each target; shows who buffers token streams. */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { machineInfo } from '../lib/machine.ts';
import { envNumber, fixed, markdownTable, percentile, round, writeReport } from '../lib/report.ts';
import { TARGET_LABELS, selectTargets, startBackend, startTargets, stopTargets, type Skipped, type TargetName } from '../lib/targets.ts';

const REQUEST_TIMEOUT_MS = 15_000;

interface StreamSample {
  headersMs: number;
  firstEventMs: number;
  totalMs: number;
  events: number;
  /** Longest pause between two body chunks; near the backend's interval when nothing buffers. */
  maxGapMs: number;
}

interface StreamSummary {
  target: TargetName;
  label: string;
  ok: number;
  failed: number;
  incomplete: number;
  headersP50Ms: number;
  firstEventP50Ms: number;
  firstEventP99Ms: number;
  totalP50Ms: number;
  totalP99Ms: number;
  maxGapP50Ms: number;
  chunksPerRequest: number;
}

function streamOnce(url: string, agent: http.Agent): Promise<StreamSample & { chunks: number }> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    let headersMs = 0;
    let firstEventMs = -1;
    let last = start;
    let maxGapMs = 0;
    let events = 0;
    let chunks = 0;
    let previousByte = 0;
    const req = http.get(url, { agent }, (res) => {
      headersMs = performance.now() - start;
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`status ${res.statusCode}`));
        return;
      }
      res.on('data', (chunk: Buffer) => {
        const now = performance.now();
        if (firstEventMs < 0) firstEventMs = now - start;
        else maxGapMs = Math.max(maxGapMs, now - last);
        last = now;
        chunks += 1;
        // Events end with a blank line; count "\n\n" even when it straddles two chunks.
        for (const byte of chunk) {
          if (byte === 10 && previousByte === 10) events += 1;
          previousByte = byte;
        }
      });
      res.on('end', () => resolve({ headersMs, firstEventMs, totalMs: performance.now() - start, events, maxGapMs, chunks }));
      res.on('error', reject);
    });
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** Runs `total` streams with at most `concurrency` in flight. */
async function streamMany(url: string, total: number, concurrency: number, expectedEvents: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const samples: StreamSample[] = [];
  let failed = 0;
  let incomplete = 0;
  let chunks = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total) {
      next += 1;
      try {
        const sample = await streamOnce(url, agent);
        if (sample.events !== expectedEvents) incomplete += 1;
        samples.push(sample);
        chunks += sample.chunks;
      } catch {
        failed += 1;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    agent.destroy();
  }
  return { samples, failed, incomplete, chunks };
}

export async function runStreaming(): Promise<void> {
  const events = Math.round(envNumber('BENCH_SSE_EVENTS', 20));
  const intervalMs = envNumber('BENCH_SSE_INTERVAL_MS', 50);
  const requests = Math.round(envNumber('BENCH_SSE_REQUESTS', 100));
  const concurrency = Math.round(envNumber('BENCH_SSE_CONCURRENCY', 20));
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  const summaries: StreamSummary[] = [];
  let skipped: Skipped[] = [];

  const backend = await startBackend();
  try {
    const started = await startTargets(selectTargets(['direct', 'infergate', 'nginx', 'nginx-default']), backend);
    skipped = started.skipped;
    try {
      for (const target of started.running) {
        const url = `${target.url}/sse?events=${events}&interval=${intervalMs}`;
        process.stderr.write(`[bench] streaming: ${target.name} (${requests} streams, ${concurrency} at a time)\n`);
        await streamMany(url, concurrency, concurrency, events); // warm-up, discarded
        const { samples, failed, incomplete, chunks } = await streamMany(url, requests, concurrency, events);
        const pick = (f: (s: StreamSample) => number): number[] => samples.map(f);
        summaries.push({
          target: target.name,
          label: TARGET_LABELS[target.name],
          ok: samples.length - incomplete,
          failed,
          incomplete,
          headersP50Ms: round(percentile(pick((s) => s.headersMs), 50)),
          firstEventP50Ms: round(percentile(pick((s) => s.firstEventMs), 50)),
          firstEventP99Ms: round(percentile(pick((s) => s.firstEventMs), 99)),
          totalP50Ms: round(percentile(pick((s) => s.totalMs), 50)),
          totalP99Ms: round(percentile(pick((s) => s.totalMs), 99)),
          maxGapP50Ms: round(percentile(pick((s) => s.maxGapMs), 50)),
          chunksPerRequest: round(samples.length > 0 ? chunks / samples.length : 0, 1),
        });
      }
    } finally {
      await stopTargets(started.running);
    }
  } finally {
    await backend.stop();
  }

  const rows = summaries.map((s) => [
    s.label,
    `${s.ok}/${requests}`,
    fixed(s.headersP50Ms),
    fixed(s.firstEventP50Ms),
    fixed(s.firstEventP99Ms),
    fixed(s.totalP50Ms),
    fixed(s.maxGapP50Ms),
    fixed(s.chunksPerRequest, 1),
  ]);
  for (const s of skipped) rows.push([TARGET_LABELS[s.name], 'skipped', '-', '-', '-', '-', '-', s.skipped]);
  const notes = skipped.map((s) => `${s.name} skipped: ${s.skipped}`);
  console.log(
    `\n### streaming (SSE): ${events} events ${intervalMs} ms apart, ${requests} streams, ${concurrency} concurrent; ideal first event ~0 ms, total ~${(events - 1) * intervalMs} ms\n`,
  );
  console.log(
    markdownTable(
      ['target', 'complete', 'headers p50 ms', 'first event p50 ms', 'first event p99 ms', 'total p50 ms', 'max gap p50 ms', 'chunks/stream'],
      rows,
    ),
  );
  for (const note of notes) console.log(`\n> ${note}`);

  const path = await writeReport({
    scenario: 'streaming',
    startedAt,
    finishedAt: new Date().toISOString(),
    machine,
    parameters: { events, intervalMs, requests, concurrency, requestTimeoutMs: REQUEST_TIMEOUT_MS },
    method:
      'Raw node:http GETs with a keep-alive agent, bounded concurrency; one discarded warm-up batch per target. "first event" is the ' +
      'first body chunk, "max gap" the longest pause between body chunks of one stream (near the backend interval when nothing buffers).',
    results: { targets: summaries, skipped },
    notes,
  });
  console.log(`\nJSON: ${path}`);
}

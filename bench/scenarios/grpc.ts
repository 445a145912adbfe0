/**
 * gRPC through the proxy: unary ModelInfer (h2load posting a pre-encoded gRPC frame) and streaming ModelStreamInfer
 * (server-streaming: one request, many answers; bidi: ping-pong) through infergate (pool protocol h2) and nginx
 * (grpc_pass, upstream keepalive), next to the @grpc/grpc-js server reached directly. All h2c on loopback.
 */
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkUnary, inferenceClient, runStreamLoad, slowReaderCheck, type SlowReaderResult, type StreamLoadResult, type StreamMode } from '../lib/grpc-load.ts';
import { MODEL_INFER_PATH, encodedInferRequest, smallInferRequest } from '../lib/grpc-proto.ts';
import { h2loadVersion, runH2load, type H2loadResult } from '../lib/h2load.ts';
import { nginxH2Listen, startInfergateConfig, startNginxConfig, startNodeServer, type Started } from '../lib/edge.ts';
import { machineInfo } from '../lib/machine.ts';
import { freePort } from '../lib/net.ts';
import { envNumber, fixed, markdownTable, writeReport } from '../lib/report.ts';
import { ratioOf, runRounds, type Row, type RowResult } from '../lib/rounds.ts';
import { INFERGATE_CLI } from '../lib/targets.ts';

const METHOD =
  'Backend: a @grpc/grpc-js server (bench/servers/grpc-backend.ts, KServe v2 GRPCInferenceService, answers at once) in its own ' +
  'process; infergate and nginx (one worker) each in theirs. Unary: h2load (C connections x S streams) POSTs one pre-encoded ' +
  'ModelInferRequest frame with content-type application/grpc and te: trailers; h2load counts HTTP status only, so every target is ' +
  'checked before and after each unary run with real @grpc/grpc-js ModelInfer calls (id echoed, status OK). Streaming: a bounded ' +
  '@grpc/grpc-js loop in the bench process, N concurrent ModelStreamInfer calls on one channel (one HTTP/2 connection) with M ' +
  'messages each. Rows interleaved in rounds after a discarded warm-up run; best round by throughput kept; CPU µs per request / ' +
  'message of the proxy process tree (backend for direct), lowest over rounds.';

type Target = { key: string; label: string; host: string; port: number; pid: number };

export async function runGrpc(): Promise<void> {
  const clients = envNumber('BENCH_GRPC_CLIENTS', 10);
  const streamsPerClient = envNumber('BENCH_GRPC_H2_STREAMS', 5);
  const streams = envNumber('BENCH_GRPC_STREAMS', 20);
  const slowCalls = envNumber('BENCH_GRPC_SLOW_CALLS', 3);
  const slowAnswers = envNumber('BENCH_GRPC_SLOW_ANSWERS', 20000);
  const slowPauseMs = envNumber('BENCH_GRPC_SLOW_PAUSE_MS', 2);
  const messages = envNumber('BENCH_GRPC_MESSAGES', 500);
  const roundTrips = envNumber('BENCH_GRPC_ROUNDTRIPS', 100);
  const durationSec = envNumber('BENCH_DURATION', 10);
  const warmupSec = envNumber('BENCH_WARMUP', 2);
  const rounds = Math.round(envNumber('BENCH_ROUNDS', 3));
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  const notes: string[] = [];
  const version = h2loadVersion();
  if (version === undefined) notes.push('h2load not installed (apt-get install -y nghttp2-client): unary rows skipped');

  const dir = await mkdtemp(join(tmpdir(), 'bench-grpc-'));
  const bodyFile = join(dir, 'model-infer.bin');
  const body = encodedInferRequest(smallInferRequest('bench-unary'));
  await writeFile(bodyFile, body);
  const backend = await startNodeServer('grpc-backend', 'grpc-backend.ts');
  const started: Started[] = [];
  const targets: Target[] = [{ key: 'direct', label: 'grpc-js server direct', host: `127.0.0.1:${backend.port}`, port: backend.port, pid: backend.pid }];
  let infergateConfig = '';
  let nginxConfig = '';
  let unary: RowResult<H2loadResult>[] = [];
  const streaming: Record<StreamMode, RowResult<StreamLoadResult>[]> = { 'server-stream': [], bidi: [] };
  const clientsByKey = new Map<string, ReturnType<typeof inferenceClient>>();
  const slow: { key: string; label: string; result: SlowReaderResult | null; error: string | null }[] = [];
  try {
    const [port, admin] = [await freePort(), await freePort()];
    infergateConfig = [
      `listen: 127.0.0.1:${port}`,
      `admin: { listen: 127.0.0.1:${admin} }`,
      `log: { level: warn, accessLog: ${process.env.BENCH_INFERGATE_ACCESS_LOG ?? 'false'} }`,
      'pools:',
      '  grpc:',
      '    protocol: h2',
      '    balance: round-robin',
      '    health: { preset: grpc, readiness: { interval: 1s } }',
      `    backends: [http://127.0.0.1:${backend.port}]`,
      '',
    ].join('\n');
    try {
      const infergate = await startInfergateConfig('infergate', infergateConfig, admin);
      started.push(infergate);
      targets.push({ key: 'infergate', label: 'infergate (pool protocol h2)', host: `127.0.0.1:${port}`, port, pid: infergate.pid });
    } catch (error) {
      notes.push(`infergate failed to start: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    }
    const nginxPort = await freePort();
    nginxConfig = `  upstream grpc_backend {
    server 127.0.0.1:${backend.port};
    keepalive 64;
  }
  # h2load does not reconnect after a GOAWAY; nginx sends one after keepalive_requests (1000) requests per connection.
  keepalive_requests 1000000;
  server {
    ${nginxH2Listen(nginxPort, false)}
    location / {
      grpc_pass grpc://grpc_backend;
    }
  }`;
    try {
      const nginx = await startNginxConfig('nginx', nginxConfig, nginxPort);
      started.push(nginx);
      targets.push({ key: 'nginx', label: 'nginx grpc_pass', host: `127.0.0.1:${nginxPort}`, port: nginxPort, pid: nginx.pid });
    } catch (error) {
      notes.push(`nginx failed to start: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    }

    // A target that does not answer real gRPC calls correctly gets no rows, and the reason goes into the notes.
    const usable: Target[] = [];
    for (const target of targets) {
      const client = inferenceClient(target.host);
      try {
        await checkUnary(client, 3);
        clientsByKey.set(target.key, client);
        usable.push(target);
      } catch (error) {
        client.close();
        notes.push(`${target.label}: ModelInfer check failed, no rows: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    const check = async (target: Target): Promise<void> => {
      const client = clientsByKey.get(target.key);
      if (client === undefined) return;
      await checkUnary(client, 3).catch((error: unknown) => {
        notes.push(`${target.label}: ModelInfer check after a unary run failed: ${error instanceof Error ? error.message : String(error)}`);
      });
    };

    if (version !== undefined) {
      const h2 = (target: Target, d: number) => async (): Promise<H2loadResult> => {
        const result = await runH2load(`http://${target.host}${MODEL_INFER_PATH}`, {
          clients,
          streams: streamsPerClient,
          durationSec: d,
          dataFile: bodyFile,
          headers: ['content-type: application/grpc', 'te: trailers'],
        });
        await check(target);
        return result;
      };
      const rows: Row<H2loadResult>[] = usable.map((t) => ({ key: t.key, label: t.label, pid: t.pid, warmUp: h2(t, warmupSec), measure: h2(t, durationSec) }));
      unary = await runRounds('grpc unary', rows, rounds, (r) => r.requestsPerSec, (r) => r.succeeded);
    }
    for (const mode of ['server-stream', 'bidi'] as const) {
      const count = mode === 'bidi' ? roundTrips : messages;
      const rows: Row<StreamLoadResult>[] = usable.map((t) => {
        const client = clientsByKey.get(t.key);
        if (client === undefined) throw new Error(`no client for ${t.key}`);
        return {
          key: t.key,
          label: t.label,
          pid: t.pid,
          warmUp: () => runStreamLoad(client, mode, streams, Math.max(1, Math.round(count / 5))),
          measure: () => runStreamLoad(client, mode, streams, count),
        };
      });
      streaming[mode] = await runRounds(`grpc ${mode}`, rows, rounds, (r) => r.messagesPerSec, (r) => r.messages);
    }
    for (const t of usable) {
      process.stderr.write(`[bench] grpc slow reader: ${t.label}\n`);
      try {
        slow.push({ key: t.key, label: t.label, result: await slowReaderCheck(t.port, slowCalls, slowAnswers, slowPauseMs), error: null });
      } catch (error) {
        slow.push({ key: t.key, label: t.label, result: null, error: error instanceof Error ? error.message : String(error) });
      }
    }
  } finally {
    for (const client of clientsByKey.values()) client.close();
    await Promise.allSettled(started.map((s) => s.stop()));
    await backend.stop();
    await rm(dir, { recursive: true, force: true });
  }

  const ratioRows: [string, number | null][] = [];
  const pick = <R,>(list: RowResult<R>[], key: string) => list.find((r) => r.key === key);
  if (unary.length > 0) {
    console.log(`\n### grpc unary ModelInfer: h2load, ${clients} connections x ${streamsPerClient} streams, ${durationSec}s per run, ${rounds} round(s), best round shown\n`);
    console.log(
      markdownTable(
        ['target', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'CPU µs/request', 'req/s per round'],
        unary.map((r) => [
          r.label,
          fixed(r.best.requestsPerSec, 0),
          fixed(r.best.p50Ms),
          fixed(r.best.p99Ms),
          String(r.best.failed + r.best.errored + r.best.timeout + r.best.non2xx),
          r.cpuUsPerUnit === null ? '-' : `${fixed(r.cpuUsPerUnit, 0)}${r.key === 'direct' ? ' (backend)' : ''}`,
          r.rounds.map((run) => fixed(run.requestsPerSec, 0)).join(' / '),
        ]),
      ),
    );
    ratioRows.push(['unary: infergate / nginx (req/s)', ratioOf(pick(unary, 'infergate')?.best.requestsPerSec, pick(unary, 'nginx')?.best.requestsPerSec)]);
    ratioRows.push(['unary: infergate / direct (req/s)', ratioOf(pick(unary, 'infergate')?.best.requestsPerSec, pick(unary, 'direct')?.best.requestsPerSec)]);
    ratioRows.push(['unary: nginx / infergate (proxy CPU per request; info)', ratioOf(pick(unary, 'nginx')?.cpuUsPerUnit, pick(unary, 'infergate')?.cpuUsPerUnit)]);
  }
  for (const mode of ['server-stream', 'bidi'] as const) {
    const list = streaming[mode];
    if (list.length === 0) continue;
    const what = mode === 'bidi' ? `${streams} concurrent bidi streams x ${roundTrips} ping-pong round trips` : `${streams} concurrent streams x ${messages} answers to one request`;
    console.log(`\n### grpc ${mode} ModelStreamInfer: ${what}, ${rounds} round(s), best round shown\n`);
    console.log(
      markdownTable(
        ['target', 'messages/s', mode === 'bidi' ? 'round trip p50 ms' : 'gap p50 ms', mode === 'bidi' ? 'round trip p99 ms' : 'gap p99 ms', ...(mode === 'bidi' ? [] : ['first answer p50 ms']), 'failed streams', 'answers missing', 'CPU µs/message', 'messages/s per round'],
        list.map((r) => [
          r.label,
          fixed(r.best.messagesPerSec, 0),
          fixed(r.best.p50Ms, 3),
          fixed(r.best.p99Ms),
          ...(mode === 'bidi' ? [] : [fixed(r.best.firstMessageP50Ms ?? Number.NaN)]),
          String(r.best.failedStreams),
          String(r.rounds.reduce((sum, run) => sum + run.missingMessages, 0)),
          r.cpuUsPerUnit === null ? '-' : `${fixed(r.cpuUsPerUnit, 0)}${r.key === 'direct' ? ' (backend)' : ''}`,
          r.rounds.map((run) => fixed(run.messagesPerSec, 0)).join(' / '),
        ]),
      ),
    );
    ratioRows.push([`${mode}: infergate / nginx (messages/s)`, ratioOf(pick(list, 'infergate')?.best.messagesPerSec, pick(list, 'nginx')?.best.messagesPerSec)]);
    ratioRows.push([`${mode}: infergate / direct (messages/s)`, ratioOf(pick(list, 'infergate')?.best.messagesPerSec, pick(list, 'direct')?.best.messagesPerSec)]);
    ratioRows.push([`${mode}: nginx / infergate (proxy CPU per message; info)`, ratioOf(pick(list, 'nginx')?.cpuUsPerUnit, pick(list, 'infergate')?.cpuUsPerUnit)]);
  }
  if (slow.length > 0) {
    console.log(`\n### grpc slow reader: ${slowCalls} ModelStreamInfer calls asking ${slowAnswers} answers each, the client pausing ${slowPauseMs} ms after every chunk it reads\n`);
    console.log(
      markdownTable(
        ['target', 'answers delivered per call', 'grpc-status per call', 'complete'],
        slow.map((s) =>
          s.result === null
            ? [s.label, '-', '-', `error: ${s.error ?? ''}`]
            : [
                s.label,
                s.result.delivered.join(' / '),
                s.result.statuses.join(' / '),
                s.result.delivered.every((n, i) => n === s.result?.asked && s.result?.statuses[i] === '0') ? 'yes' : 'NO: answers lost',
              ],
        ),
      ),
    );
  }
  console.log('');
  console.log(markdownTable(['ratio', 'value'], ratioRows.map(([name, value]) => [name, value === null ? 'n/a' : `${fixed(value)}x`])));
  for (const note of notes) console.log(`\n> ${note}`);

  const path = await writeReport(
    {
      scenario: 'grpc',
      startedAt,
      finishedAt: new Date().toISOString(),
      machine,
      parameters: {
        loadGenerator: `${version ?? 'h2load missing'} (unary); @grpc/grpc-js loop in the bench process (streaming)`,
        unary: { clients, streamsPerClient, durationSec, warmupSec, path: MODEL_INFER_PATH, requestBytes: body.length },
        serverStream: { streams, messagesPerStream: messages },
        bidi: { streams, roundTripsPerStream: roundTrips },
        slowReader: { calls: slowCalls, answersPerCall: slowAnswers, pauseMsAfterEachChunk: slowPauseMs },
        rounds,
        infergateCli: INFERGATE_CLI,
        infergateConfig,
        nginxConfig,
      },
      method: METHOD,
      results: { unary, serverStream: streaming['server-stream'], bidi: streaming.bidi, slowReader: slow, ratios: ratioRows.map(([name, value]) => ({ name, value })) },
      notes,
    },
    { partial: notes.some((n) => n.includes('failed to start') || n.includes('no rows')) },
  );
  console.log(`\nJSON: ${path}`);
}

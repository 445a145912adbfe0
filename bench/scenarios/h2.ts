/**
 * HTTP/2 clients, unary small requests: h2load over h2c (prior knowledge) and h2 (TLS, ALPN) through infergate and
 * nginx, both proxying to the same HTTP/1.1 keep-alive backend, next to the backend reached directly over HTTP/1.1.
 */
import { freePort } from '../lib/net.ts';
import { h2loadVersion, runH2load, type H2loadResult } from '../lib/h2load.ts';
import { makeCert, nginxH2Listen, nginxTls, startInfergateConfig, startNginxConfig, type Started } from '../lib/edge.ts';
import { machineInfo } from '../lib/machine.ts';
import { envNumber, fixed, markdownTable, writeReport } from '../lib/report.ts';
import { ratioOf, runRounds, type Row, type RowResult } from '../lib/rounds.ts';
import { INFERGATE_CLI, startBackend } from '../lib/targets.ts';

const METHOD =
  'h2load (nghttp2, C, one thread) runs in its own process; infergate, nginx (one worker) and the backend each in theirs, all on ' +
  'the same cores. Each row: a discarded warm-up run, then a timed run; rows interleaved in rounds, best round by req/s kept with ' +
  'its latencies (from h2load\'s per-request log); CPU µs/request is the proxy process tree\'s user+system CPU over the run divided ' +
  'by responses (backend for direct), lowest over rounds. HTTP/2 rows: C connections x S concurrent streams each; the direct row ' +
  'is HTTP/1.1 (the backend speaks only HTTP/1.1) with C x S connections, so the same number of requests is in flight.';

export async function runH2(): Promise<void> {
  const clients = envNumber('BENCH_H2_CLIENTS', 10);
  const streams = envNumber('BENCH_H2_STREAMS', 5);
  const durationSec = envNumber('BENCH_DURATION', 10);
  const warmupSec = envNumber('BENCH_WARMUP', 2);
  const rounds = Math.round(envNumber('BENCH_ROUNDS', 3));
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  const notes: string[] = [];
  const version = h2loadVersion();
  if (version === undefined) {
    console.log('\n### h2: skipped: h2load not installed (apt-get install -y nghttp2-client)\n');
    return;
  }

  const cert = await makeCert();
  const backend = await startBackend();
  const started: Started[] = [];
  let results: RowResult<H2loadResult>[] = [];
  let infergateConfig = '';
  let nginxConfig = '';
  try {
    const rows: Row<H2loadResult>[] = [];
    const h2 = (url: string, d: number) => runH2load(url, { clients, streams, durationSec: d });
    // The same number of requests in flight over HTTP/1.1: clients x streams connections, one request each.
    const h1 = (url: string, d: number) => runH2load(url, { clients: clients * streams, streams: 1, durationSec: d, h1: true });
    rows.push({
      key: 'direct',
      label: 'backend direct (HTTP/1.1)',
      pid: backend.pid,
      warmUp: () => h1(`${backend.url}/predictions/bench`, warmupSec),
      measure: () => h1(`${backend.url}/predictions/bench`, durationSec),
    });

    const [plain, tls, admin] = [await freePort(), await freePort(), await freePort()];
    infergateConfig = [
      `listen:`,
      `  - 127.0.0.1:${plain}`,
      `  - { address: 127.0.0.1:${tls}, tls: { cert: ${cert.cert}, key: ${cert.key} } }`,
      `admin: { listen: 127.0.0.1:${admin} }`,
      `log: { level: warn, accessLog: ${process.env.BENCH_INFERGATE_ACCESS_LOG ?? 'false'} }`,
      'pools:',
      '  bench:',
      '    balance: round-robin',
      '    health: { readiness: { path: /health, interval: 1s } }',
      `    backends: [http://127.0.0.1:${backend.port}]`,
      '',
    ].join('\n');
    try {
      const infergate = await startInfergateConfig('infergate', infergateConfig, admin);
      started.push(infergate);
      for (const [key, label, url] of [
        ['infergate-h2c', 'infergate h2c', `http://127.0.0.1:${plain}/predictions/bench`],
        ['infergate-h2', 'infergate h2 (TLS)', `https://127.0.0.1:${tls}/predictions/bench`],
      ] as const) {
        rows.push({ key, label, pid: infergate.pid, warmUp: () => h2(url, warmupSec), measure: () => h2(url, durationSec) });
      }
      const url = `http://127.0.0.1:${plain}/predictions/bench`;
      rows.push({ key: 'infergate-h1', label: 'infergate HTTP/1.1 (same listener)', pid: infergate.pid, warmUp: () => h1(url, warmupSec), measure: () => h1(url, durationSec) });
    } catch (error) {
      notes.push(`infergate failed to start: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    }

    const [nPlain, nTls, nH1] = [await freePort(), await freePort(), await freePort()];
    nginxConfig = `  upstream bench_backend {
    server 127.0.0.1:${backend.port};
    keepalive 64;
  }
  # h2load does not reconnect after a GOAWAY; nginx sends one after keepalive_requests (1000) requests per connection.
  keepalive_requests 1000000;
  server {
    ${nginxH2Listen(nPlain, false)}
    location / {
      proxy_pass http://bench_backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
  server {
    listen 127.0.0.1:${nH1};
    location / {
      proxy_pass http://bench_backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
  server {
    ${nginxH2Listen(nTls, true)}
    ${nginxTls(cert)}
    location / {
      proxy_pass http://bench_backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }`;
    try {
      const nginx = await startNginxConfig('nginx', nginxConfig, nTls);
      started.push(nginx);
      for (const [key, label, url] of [
        ['nginx-h2c', 'nginx h2c', `http://127.0.0.1:${nPlain}/predictions/bench`],
        ['nginx-h2', 'nginx h2 (TLS)', `https://127.0.0.1:${nTls}/predictions/bench`],
      ] as const) {
        rows.push({ key, label, pid: nginx.pid, warmUp: () => h2(url, warmupSec), measure: () => h2(url, durationSec) });
      }
      const url = `http://127.0.0.1:${nH1}/predictions/bench`;
      rows.push({ key: 'nginx-h1', label: 'nginx HTTP/1.1', pid: nginx.pid, warmUp: () => h1(url, warmupSec), measure: () => h1(url, durationSec) });
    } catch (error) {
      notes.push(`nginx failed to start: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    }

    results = await runRounds('h2', rows, rounds, (r) => r.requestsPerSec, (r) => r.succeeded);
  } finally {
    await Promise.allSettled(started.map((s) => s.stop()));
    await backend.stop();
    await cert.remove();
  }

  const get = (key: string) => results.find((r) => r.key === key);
  const ratios = [
    ['infergate h2c / nginx h2c (req/s)', ratioOf(get('infergate-h2c')?.best.requestsPerSec, get('nginx-h2c')?.best.requestsPerSec)],
    ['infergate h2 TLS / nginx h2 TLS (req/s)', ratioOf(get('infergate-h2')?.best.requestsPerSec, get('nginx-h2')?.best.requestsPerSec)],
    ['infergate h2c / infergate HTTP/1.1 (req/s)', ratioOf(get('infergate-h2c')?.best.requestsPerSec, get('infergate-h1')?.best.requestsPerSec)],
    ['nginx h2c / nginx HTTP/1.1 (req/s)', ratioOf(get('nginx-h2c')?.best.requestsPerSec, get('nginx-h1')?.best.requestsPerSec)],
    ['infergate h2c / backend direct (req/s)', ratioOf(get('infergate-h2c')?.best.requestsPerSec, get('direct')?.best.requestsPerSec)],
    ['nginx h2c / infergate h2c (proxy CPU per request; info)', ratioOf(get('nginx-h2c')?.cpuUsPerUnit, get('infergate-h2c')?.cpuUsPerUnit)],
    ['nginx h2 / infergate h2 TLS (proxy CPU per request; info)', ratioOf(get('nginx-h2')?.cpuUsPerUnit, get('infergate-h2')?.cpuUsPerUnit)],
  ] as const;

  const rows = results.map((r) => [
    r.label,
    fixed(r.best.requestsPerSec, 0),
    fixed(r.best.p50Ms),
    fixed(r.best.p99Ms),
    String(r.best.failed + r.best.errored + r.best.timeout + r.best.non2xx),
    r.cpuUsPerUnit === null ? '-' : `${fixed(r.cpuUsPerUnit, 0)}${r.key === 'direct' ? ' (backend)' : ''}`,
    r.rounds.map((run) => fixed(run.requestsPerSec, 0)).join(' / '),
  ]);
  console.log(`\n### h2: HTTP/2 clients, ${clients} connections x ${streams} streams, ${durationSec}s per run, ${rounds} round(s), best round shown\n`);
  console.log(markdownTable(['target', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'CPU µs/request', 'req/s per round'], rows));
  console.log('');
  console.log(markdownTable(['ratio', 'value'], ratios.map(([name, value]) => [name, value === null ? 'n/a' : `${fixed(value)}x`])));
  for (const note of notes) console.log(`\n> ${note}`);

  const path = await writeReport(
    {
      scenario: 'h2',
      startedAt,
      finishedAt: new Date().toISOString(),
      machine,
      parameters: {
        loadGenerator: version,
        clients,
        streamsPerClient: streams,
        durationSec,
        warmupSec,
        rounds,
        path: 'GET /predictions/bench (73-byte JSON)',
        certificate: cert.description,
        infergateCli: INFERGATE_CLI,
        infergateConfig,
        nginxConfig,
      },
      method: METHOD,
      results: { targets: results, ratios: ratios.map(([name, value]) => ({ name, value })) },
      notes,
    },
    { partial: notes.length > 0 },
  );
  console.log(`\nJSON: ${path}`);
}

/**
 * TLS at the edge: (1) handshake rate, a new connection for every request (full handshakes, no resumption), through
 * infergate and nginx with the same certificate, next to the same without TLS (a new TCP connection per request);
 * (2) the cost of TLS per request on keep-alive connections: HTTPS vs plain HTTP/1.1 through the same process.
 */
import { h2loadVersion, runH2load, type H2loadResult } from '../lib/h2load.ts';
import { makeCert, nginxH2Listen, nginxTls, startInfergateConfig, startNginxConfig, type Started } from '../lib/edge.ts';
import { machineInfo } from '../lib/machine.ts';
import { freePort } from '../lib/net.ts';
import { envNumber, fixed, markdownTable, round, writeReport } from '../lib/report.ts';
import { ratioOf, runRounds, type Row, type RowResult } from '../lib/rounds.ts';
import { INFERGATE_CLI, startBackend } from '../lib/targets.ts';

const METHOD =
  'h2load (one thread) in its own process, HTTP/1.1 (--h1). Handshakes: each h2load run opens B connections at once and sends one ' +
  'request on each (-n B -c B), so every request pays a full TLS handshake (h2load keeps no session cache across connections, so ' +
  'nothing is resumed); K such runs make one measurement; connections/s = B*K / the sum of h2load\'s own run times (process ' +
  'start-up excluded). Keep-alive: C connections, one request in flight each, timed run. Rows interleaved in rounds after a ' +
  'discarded warm-up, best round kept; CPU µs per connection / request of the proxy process tree, lowest over rounds.';

interface HandshakeResult {
  connectionsPerSec: number;
  connections: number;
  failed: number;
  meanConnectMs: number;
  meanFirstByteMs: number;
  tls: string;
}

async function handshakes(url: string, batch: number, batches: number): Promise<HandshakeResult> {
  let elapsed = 0;
  let connections = 0;
  let failed = 0;
  let connect = 0;
  let firstByte = 0;
  let tls = '';
  for (let i = 0; i < batches; i += 1) {
    const r = await runH2load(url, { clients: batch, streams: 1, requests: batch, h1: true });
    elapsed += r.elapsedSec;
    connections += r.succeeded;
    failed += r.total - r.succeeded + r.non2xx;
    connect += r.meanConnectMs;
    firstByte += r.meanFirstByteMs;
    if (r.tls !== '') tls = r.tls;
  }
  return {
    connectionsPerSec: round(connections / elapsed, 1),
    connections,
    failed,
    meanConnectMs: round(connect / batches),
    meanFirstByteMs: round(firstByte / batches),
    tls,
  };
}

export async function runTls(): Promise<void> {
  const batch = envNumber('BENCH_TLS_BATCH', 50);
  const batches = envNumber('BENCH_TLS_BATCHES', 20);
  const connections = envNumber('BENCH_CONNECTIONS', 50);
  const durationSec = envNumber('BENCH_DURATION', 10);
  const warmupSec = envNumber('BENCH_WARMUP', 2);
  const rounds = Math.round(envNumber('BENCH_ROUNDS', 3));
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  const notes: string[] = [];
  const version = h2loadVersion();
  if (version === undefined) {
    console.log('\n### tls: skipped: h2load not installed (apt-get install -y nghttp2-client)\n');
    return;
  }

  const cert = await makeCert();
  const backend = await startBackend();
  const started: Started[] = [];
  let infergateConfig = '';
  let nginxConfig = '';
  let handshakeResults: RowResult<HandshakeResult>[] = [];
  let keepAliveResults: RowResult<H2loadResult>[] = [];
  const endpoints: { key: string; label: string; plain: string; tls: string; pid: number }[] = [];
  try {
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
      endpoints.push({ key: 'infergate', label: 'infergate', plain: `http://127.0.0.1:${plain}/predictions/bench`, tls: `https://127.0.0.1:${tls}/predictions/bench`, pid: infergate.pid });
    } catch (error) {
      notes.push(`infergate failed to start: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    }
    const [nPlain, nTls] = [await freePort(), await freePort()];
    nginxConfig = `  upstream bench_backend {
    server 127.0.0.1:${backend.port};
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${nPlain};
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
      endpoints.push({ key: 'nginx', label: 'nginx', plain: `http://127.0.0.1:${nPlain}/predictions/bench`, tls: `https://127.0.0.1:${nTls}/predictions/bench`, pid: nginx.pid });
    } catch (error) {
      notes.push(`nginx failed to start: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    }

    const handshakeRows: Row<HandshakeResult>[] = endpoints.flatMap((e) => [
      { key: `${e.key}-tls`, label: `${e.label} HTTPS`, pid: e.pid, warmUp: () => handshakes(e.tls, batch, 2), measure: () => handshakes(e.tls, batch, batches) },
      { key: `${e.key}-plain`, label: `${e.label} HTTP (new TCP connection, no TLS)`, pid: e.pid, warmUp: () => handshakes(e.plain, batch, 2), measure: () => handshakes(e.plain, batch, batches) },
    ]);
    handshakeResults = await runRounds('tls handshakes', handshakeRows, rounds, (r) => r.connectionsPerSec, (r) => r.connections);
    const load = (url: string, d: number) => () => runH2load(url, { clients: connections, streams: 1, durationSec: d, h1: true });
    const keepAliveRows: Row<H2loadResult>[] = endpoints.flatMap((e) => [
      { key: `${e.key}-plain`, label: `${e.label} HTTP`, pid: e.pid, warmUp: load(e.plain, warmupSec), measure: load(e.plain, durationSec) },
      { key: `${e.key}-tls`, label: `${e.label} HTTPS`, pid: e.pid, warmUp: load(e.tls, warmupSec), measure: load(e.tls, durationSec) },
    ]);
    keepAliveResults = await runRounds('tls keep-alive', keepAliveRows, rounds, (r) => r.requestsPerSec, (r) => r.succeeded);
  } finally {
    await Promise.allSettled(started.map((s) => s.stop()));
    await backend.stop();
    await cert.remove();
  }

  const hs = (key: string) => handshakeResults.find((r) => r.key === key);
  const ka = (key: string) => keepAliveResults.find((r) => r.key === key);
  const ratios: [string, number | null][] = [
    ['handshakes: infergate / nginx (connections/s)', ratioOf(hs('infergate-tls')?.best.connectionsPerSec, hs('nginx-tls')?.best.connectionsPerSec)],
    ['handshakes: nginx / infergate (proxy CPU per TLS connection; info)', ratioOf(hs('nginx-tls')?.cpuUsPerUnit, hs('infergate-tls')?.cpuUsPerUnit)],
    ['keep-alive: infergate HTTPS / HTTP (CPU per request)', ratioOf(ka('infergate-tls')?.cpuUsPerUnit, ka('infergate-plain')?.cpuUsPerUnit)],
    ['keep-alive: nginx HTTPS / HTTP (CPU per request)', ratioOf(ka('nginx-tls')?.cpuUsPerUnit, ka('nginx-plain')?.cpuUsPerUnit)],
    ['keep-alive: infergate HTTPS / HTTP (req/s)', ratioOf(ka('infergate-tls')?.best.requestsPerSec, ka('infergate-plain')?.best.requestsPerSec)],
    ['keep-alive: nginx HTTPS / HTTP (req/s)', ratioOf(ka('nginx-tls')?.best.requestsPerSec, ka('nginx-plain')?.best.requestsPerSec)],
    ['keep-alive HTTPS: infergate / nginx (req/s)', ratioOf(ka('infergate-tls')?.best.requestsPerSec, ka('nginx-tls')?.best.requestsPerSec)],
  ];
  const tlsCostUs = (key: string): number | null => {
    const a = ka(`${key}-tls`)?.cpuUsPerUnit;
    const b = ka(`${key}-plain`)?.cpuUsPerUnit;
    return a === null || a === undefined || b === null || b === undefined ? null : round(a - b, 1);
  };
  const handshakeCostUs = (key: string): number | null => {
    const a = hs(`${key}-tls`)?.cpuUsPerUnit;
    const b = hs(`${key}-plain`)?.cpuUsPerUnit;
    return a === null || a === undefined || b === null || b === undefined ? null : round(a - b, 1);
  };

  console.log(`\n### tls handshakes: a new connection per request, ${batch} at once x ${batches} per run, HTTP/1.1, ${rounds} round(s), best round shown\n`);
  console.log(
    markdownTable(
      ['target', 'connections/s', 'mean connect ms', 'mean to 1st byte ms', 'failed', 'CPU µs/connection', 'TLS', 'connections/s per round'],
      handshakeResults.map((r) => [
        r.label,
        fixed(r.best.connectionsPerSec, 0),
        fixed(r.best.meanConnectMs),
        fixed(r.best.meanFirstByteMs),
        String(r.best.failed),
        r.cpuUsPerUnit === null ? '-' : fixed(r.cpuUsPerUnit, 0),
        r.best.tls === '' ? '-' : r.best.tls,
        r.rounds.map((run) => fixed(run.connectionsPerSec, 0)).join(' / '),
      ]),
    ),
  );
  console.log(`\n### tls on keep-alive connections: ${connections} connections, HTTP/1.1, ${durationSec}s per run, ${rounds} round(s), best round shown\n`);
  console.log(
    markdownTable(
      ['target', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'CPU µs/request', 'req/s per round'],
      keepAliveResults.map((r) => [
        r.label,
        fixed(r.best.requestsPerSec, 0),
        fixed(r.best.p50Ms),
        fixed(r.best.p99Ms),
        String(r.best.failed + r.best.errored + r.best.timeout + r.best.non2xx),
        r.cpuUsPerUnit === null ? '-' : fixed(r.cpuUsPerUnit, 0),
        r.rounds.map((run) => fixed(run.requestsPerSec, 0)).join(' / '),
      ]),
    ),
  );
  console.log('');
  const costs: [string, number | null][] = [
    ['infergate: CPU µs a TLS handshake adds to a new connection', handshakeCostUs('infergate')],
    ['nginx: CPU µs a TLS handshake adds to a new connection', handshakeCostUs('nginx')],
    ['infergate: CPU µs TLS adds per keep-alive request', tlsCostUs('infergate')],
    ['nginx: CPU µs TLS adds per keep-alive request', tlsCostUs('nginx')],
  ];
  console.log(
    markdownTable(
      ['ratio / cost', 'value'],
      [...ratios.map(([name, value]) => [name, value === null ? 'n/a' : `${fixed(value)}x`]), ...costs.map(([name, value]) => [name, value === null ? 'n/a' : `${fixed(value, 0)} µs`])],
    ),
  );
  for (const note of notes) console.log(`\n> ${note}`);

  const path = await writeReport(
    {
      scenario: 'tls',
      startedAt,
      finishedAt: new Date().toISOString(),
      machine,
      parameters: {
        loadGenerator: version,
        handshakes: { connectionsAtOnce: batch, runsPerMeasurement: batches, protocol: 'HTTP/1.1', requestsPerConnection: 1 },
        keepAlive: { connections, durationSec, warmupSec, protocol: 'HTTP/1.1' },
        rounds,
        path: 'GET /predictions/bench (73-byte JSON)',
        certificate: cert.description,
        infergateCli: INFERGATE_CLI,
        infergateConfig,
        nginxConfig,
      },
      method: METHOD,
      results: { handshakes: handshakeResults, keepAlive: keepAliveResults, ratios: ratios.map(([name, value]) => ({ name, value })), costs: costs.map(([name, value]) => ({ name, value })) },
      notes,
    },
    { partial: notes.length > 0 },
  );
  console.log(`\nJSON: ${path}`);
}

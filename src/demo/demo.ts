// `infergate demo`: local model servers that load at different speeds (one with the wrong version), a good
// canary that rolls out and a bad one that rolls back, the balancer in front, and a narrator.
import { createApp, type App } from '../app.js';
import { formatErrors, parseConfig } from '../config/load.js';
import { waitForSignals } from '../signals.js';
import { ModelServer } from './model-server.js';

const LISTEN_PORT = Number(process.env.INFERGATE_DEMO_PORT ?? 8080);
const ADMIN_PORT = Number(process.env.INFERGATE_DEMO_ADMIN_PORT ?? 9901);
/** Requests per second the demo sends to each pool by itself, so that rollouts have traffic to judge. */
const TRAFFIC_RPS = Number(process.env.INFERGATE_DEMO_TRAFFIC ?? 20);
/** The built-in traffic stops after this long (bounded). */
const TRAFFIC_SECONDS = 120;

export async function runDemo(): Promise<number> {
  const mlp = {
    stable: [
      new ModelServer({ model: 'mlp', version: '1', loadDelayMs: 0, latencyMs: 5 }),
      new ModelServer({ model: 'mlp', version: '1', loadDelayMs: 4000, latencyMs: 5 }),
      new ModelServer({ model: 'mlp', version: '1', loadDelayMs: 8000, latencyMs: 5 }),
      new ModelServer({ model: 'mlp', version: '0', loadDelayMs: 0, latencyMs: 5 }), // deployed with the old artifact
    ],
    canary: [new ModelServer({ model: 'mlp', version: '2', loadDelayMs: 2000, latencyMs: 6 })],
  };
  const bad = {
    stable: [new ModelServer({ model: 'llm', version: '1', latencyMs: 5 })],
    canary: [new ModelServer({ model: 'llm', version: '2', latencyMs: 5, failRate: 0.4 })],
  };
  const all = [...mlp.stable, ...mlp.canary, ...bad.stable, ...bad.canary];
  await Promise.all(all.map((s) => s.start()));
  const list = (servers: ModelServer[]): string => `[${servers.map((s) => s.url).join(', ')}]`;
  const yaml = `
listen: 127.0.0.1:${LISTEN_PORT}
admin: { listen: 127.0.0.1:${ADMIN_PORT} }
log: { level: fatal, accessLog: false }
routes:
  - match: { pathPrefix: /bad/ }
    pool: bad
  - match: {}
    pool: mlp
pools:
  mlp:
    balance: least-request
    retry: { attempts: 2, methods: [GET, POST] }
    health:
      readiness: { path: /health, interval: 500ms, timeout: 500ms, healthyThreshold: 1, unhealthyThreshold: 2 }
      model: { name: mlp, version: "1", metadataPath: /v1/models, namePointer: /data/0/id, versionPointer: /data/0/version }
    warmup: { requests: 2, method: POST, path: /v1/predict, body: '{"warmup":true}', slowStart: 5s }
    groups:
      stable: { weight: 100, backends: ${list(mlp.stable)} }
      canary:
        weight: 0
        model: { version: "2" }
        backends: ${list(mlp.canary)}
        rollout: { steps: [10, 25, 50, 100], interval: 4s, minRequests: 10, maxErrorRate: 0.05 }
  bad:
    balance: round-robin
    health:
      readiness: { path: /health, interval: 500ms, timeout: 500ms, healthyThreshold: 1 }
    outlier: false
    groups:
      stable: { weight: 100, backends: ${list(bad.stable)} }
      canary:
        weight: 0
        backends: ${list(bad.canary)}
        rollout: { steps: [10, 25, 50, 100], interval: 4s, minRequests: 10, maxErrorRate: 0.05 }
`;
  const parsed = parseConfig(yaml, '<demo>');
  if (!parsed.ok) {
    process.stderr.write(formatErrors(parsed.errors) + '\n');
    await Promise.all(all.map((s) => s.close()));
    return 1;
  }
  const app = createApp(parsed.config);
  const { port, adminPort } = await app.start();
  const base = `http://127.0.0.1:${port}`;
  process.stdout.write(`
infergate demo: the balancer on ${base}, its admin API on http://127.0.0.1:${adminPort}

  pool mlp    stable: 3 servers of model mlp v1 loading in 0, 4 and 8 s, and 1 still serving v0 (wrong version)
              canary: 1 server of mlp v2, loading in 2 s, rolled out 10 -> 25 -> 50 -> 100 % if it stays healthy
  pool bad    stable: 1 server; canary: 1 server that fails 40 % of its requests: it gets rolled back

  The demo sends ${TRAFFIC_RPS} requests/s to each pool for ${TRAFFIC_SECONDS} s (INFERGATE_DEMO_TRAFFIC=0 turns that off). Try:
    curl -s ${base}/v1/predict                                   # answered by a READY, admitted, warmed server
    curl -sN '${base}/v1/stream?n=10&interval=200'               # SSE token stream, forwarded as it comes
    curl -s http://127.0.0.1:${adminPort}/admin/backends           # states, reasons, effective weights
    curl -s http://127.0.0.1:${adminPort}/admin/rollouts           # canary steps, checks, history
    curl -s http://127.0.0.1:${adminPort}/metrics | grep '^infergate_'

  What happens, as it happens:
`);
  const stopNarrator = narrate(app);
  const stopTraffic = TRAFFIC_RPS > 0 ? sendTraffic([`${base}/v1/predict`, `${base}/bad/v1/predict`], TRAFFIC_RPS) : () => undefined;
  const code = await waitForSignals(app, null);
  stopTraffic();
  stopNarrator();
  await Promise.all(all.map((s) => s.close()));
  return code;
}

/** Prints each backend state change and each rollout change once, in words. */
function narrate(app: App): () => void {
  const states = new Map<string, string>();
  const rollouts = new Map<string, string>();
  const started = Date.now();
  const stamp = (): string => `${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s`;
  const tick = (): void => {
    for (const pool of app.pools()) {
      for (const b of pool.backends) {
        const state = b.state();
        if (states.get(b.id) === state) continue;
        states.set(b.id, state);
        process.stdout.write(`  ${stamp()}  ${b.id.padEnd(32)} ${state.padEnd(8)} ${b.stateReason}\n`);
      }
    }
    for (const r of app.rollouts.views()) {
      const k = `${r.pool}.${r.group}`;
      const summary = `${r.state} at ${r.weight}%`;
      if (rollouts.get(k) === summary) continue;
      rollouts.set(k, summary);
      process.stdout.write(`  ${stamp()}  rollout ${k.padEnd(24)} ${summary.padEnd(20)} ${r.reason ?? ''}\n`);
    }
  };
  const timer = setInterval(tick, 250);
  tick();
  return () => clearInterval(timer);
}

/** A bounded background load: `rps` requests per second to each URL, stopping by itself. */
function sendTraffic(urls: string[], rps: number): () => void {
  const until = Date.now() + TRAFFIC_SECONDS * 1000;
  const timer = setInterval(() => {
    if (Date.now() > until) {
      clearInterval(timer);
      return;
    }
    for (const url of urls) {
      fetch(url, { method: 'POST', body: '{"x":[1,2,3]}', headers: { 'content-type': 'application/json' } })
        .then((r) => r.arrayBuffer())
        .catch(() => undefined);
    }
  }, 1000 / rps);
  return () => clearInterval(timer);
}

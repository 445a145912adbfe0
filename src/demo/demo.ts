// `infergate demo`: three local model servers that load at different speeds, and the balancer in front.
import { createApp } from '../app.js';
import { waitForSignals } from '../signals.js';
import { formatErrors, parseConfig } from '../config/load.js';
import { ModelServer } from './model-server.js';

const LISTEN_PORT = Number(process.env.INFERGATE_DEMO_PORT ?? 8080);
const ADMIN_PORT = Number(process.env.INFERGATE_DEMO_ADMIN_PORT ?? 9901);

export async function runDemo(): Promise<number> {
  const servers = [
    new ModelServer({ port: 0, model: 'demo-model', version: '1', loadDelayMs: 0, latencyMs: 5 }),
    new ModelServer({ port: 0, model: 'demo-model', version: '1', loadDelayMs: 4000, latencyMs: 5 }),
    new ModelServer({ port: 0, model: 'demo-model', version: '1', loadDelayMs: 8000, latencyMs: 5 }),
  ];
  await Promise.all(servers.map((s) => s.start()));
  const yaml = `
listen: 127.0.0.1:${LISTEN_PORT}
admin: { listen: 127.0.0.1:${ADMIN_PORT} }
log: { level: info, accessLog: false }
pools:
  demo:
    balance: least-request
    health: { preset: http, readiness: { path: /health, interval: 500ms, timeout: 500ms, healthyThreshold: 1, unhealthyThreshold: 2 } }
    backends: [${servers.map((s) => s.url).join(', ')}]
`;
  const parsed = parseConfig(yaml, '<demo>');
  if (!parsed.ok) {
    process.stderr.write(formatErrors(parsed.errors) + '\n');
    return 1;
  }
  const app = createApp(parsed.config);
  const { port, adminPort } = await app.start();
  process.stdout.write(`
infergate demo is running.

  Model servers (port open at once, model loaded after 0 s, 4 s and 8 s):
${servers.map((s, i) => `    ${s.url}   loads in ${[0, 4, 8][i]} s`).join('\n')}

  Try:
    curl -s http://127.0.0.1:${port}/v1/predict                      # a prediction, from a READY server only
    curl -sN 'http://127.0.0.1:${port}/v1/stream?n=10&interval=200'  # a token stream (SSE), forwarded as it comes
    curl -s http://127.0.0.1:${adminPort}/admin/backends | jq         # every backend's state: LOADING -> READY
    curl -s http://127.0.0.1:${adminPort}/metrics | grep infergate_   # Prometheus metrics

  Ctrl-C drains and stops.
`);
  const code = await waitForSignals(app, null);
  await Promise.all(servers.map((s) => s.close()));
  return code;
}

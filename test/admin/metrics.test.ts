// /metrics: Prometheus text from the app's own registry, every name of its own prefixed infergate_ (Node's default
// process metrics keep their standard names: test/observe/default-metrics.test.ts), labels pool/group/backend.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { startStack, type Stack } from '../helpers/stack.js';

let backend: TestBackend;
let resetting: TestBackend;
let stack: Stack;
let text: string;
let contentType: string | null;
let id: string;

beforeAll(async () => {
  backend = await startBackend((req, res) => {
    res.writeHead(req.url === '/fail' ? 500 : 200, { 'content-type': 'text/plain' });
    res.end('x');
  });
  // Healthy to probes, but drops every user request: drives retries.
  resetting = await startBackend((req) => req.socket.destroy());
  stack = await startStack(`
routes:
  - { match: { pathPrefix: /down/ }, pool: down }
  - { match: { pathPrefix: /r/ }, pool: r }
  - { match: {}, pool: p }
pools:
  p:
    health: { readiness: { path: /health, interval: 1s, timeout: 1s } }
    groups:
      stable: { weight: 100, backends: [${backend.url}] }
  down:
    queue: false
    health: { readiness: { path: /health, interval: 1s, timeout: 1s } }
    backends: [http://127.0.0.1:9]
  r:
    balance: round-robin
    health: { readiness: { path: /health, interval: 1s, timeout: 1s } }
    retry: { attempts: 2, methods: [GET] }
    backends: [${resetting.url}, ${backend.url}]
`, { waitReady: false, deps: { clock: new ManualClock() } });
  // The proxy's clock never moves: each backend is probed exactly once.
  await stack.waitForLog((l) => l.msg === 'backend state changed' && l.pool === 'p' && l.to === 'READY');
  await stack.waitForLog((l) => l.msg === 'backend state changed' && l.backend === `r.default.127.0.0.1:${resetting.port}` && l.to === 'READY');
  await stack.waitForLog((l) => l.msg === 'backend state changed' && l.backend === `r.default.127.0.0.1:${backend.port}` && l.to === 'READY');
  // Round-robin over two backends: the first request meets the resetting one and is retried on the other; the reset
  // holds that backend for re-verification, which fails (it resets its probes too), so the second goes straight on.
  for (const path of ['/r/1', '/r/2']) expect((await fetch(stack.url + path)).status).toBe(200);
  id = `p.stable.127.0.0.1:${backend.port}`;
  for (const path of ['/ok', '/ok', '/fail', '/down/x']) await (await fetch(stack.url + path)).text();
  // The access log line is written when a request is fully accounted.
  await stack.waitForLog((l) => l.kind === 'access' && l.path === '/down/x');
  const res = await fetch(`${stack.adminUrl}/metrics`);
  contentType = res.headers.get('content-type');
  text = await res.text();
});
afterAll(async () => {
  await stack.close();
  await backend.close();
  await resetting.close();
});

/** Value of the sample with exactly this name and these labels (in any order), or undefined. */
function sample(name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.keys(got).length === Object.keys(labels).length && Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

test('Prometheus text format, and every metric name starts with infergate_ (default process metrics are off here)', () => {
  expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  const names = text.split('\n').filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2]!);
  expect(names.length).toBeGreaterThan(10);
  for (const n of names) expect(n).toMatch(/^infergate_/);
});

test('the documented metrics exist with their types', () => {
  const types = Object.fromEntries(text.split('\n').filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ').slice(2, 4)));
  expect(types).toMatchObject({
    infergate_build_info: 'gauge',
    infergate_requests_total: 'counter',
    infergate_request_duration_seconds: 'histogram',
    infergate_upstream_duration_seconds: 'histogram',
    infergate_backend_inflight: 'gauge',
    infergate_backend_up: 'gauge',
    infergate_backend_state: 'gauge',
    infergate_health_checks_total: 'counter',
    infergate_backend_state_transitions_total: 'counter',
    infergate_retries_total: 'counter',
    infergate_errors_total: 'counter',
    infergate_config_reloads_total: 'counter',
    infergate_config_last_reload_success: 'gauge',
    infergate_config_last_reload_success_timestamp_seconds: 'gauge',
    infergate_backend_errors_total: 'counter',
    infergate_backend_effective_weight: 'gauge',
    infergate_request_bytes_total: 'counter',
    infergate_response_bytes_total: 'counter',
    infergate_client_connections: 'gauge',
    infergate_streams_open: 'gauge',
    infergate_time_to_first_byte_seconds: 'histogram',
    infergate_sse_time_to_first_event_seconds: 'histogram',
    infergate_sse_event_gap_seconds: 'histogram',
  });
});

test('build_info carries the version', async () => {
  const { VERSION } = await import('../../src/version.js');
  expect(sample('infergate_build_info', { version: VERSION, node: process.versions.node })).toBe(1);
});

test('requests by pool, group, backend and status class; answers without a backend have empty labels', () => {
  expect(sample('infergate_requests_total', { pool: 'p', group: 'stable', backend: id, code: '2xx' })).toBe(2);
  expect(sample('infergate_requests_total', { pool: 'p', group: 'stable', backend: id, code: '5xx' })).toBe(1);
  expect(sample('infergate_requests_total', { pool: 'down', group: '', backend: '', code: '5xx' })).toBe(1);
});

test('duration histograms count every request (per pool, group and route; no group without a response) and every upstream response (per backend)', () => {
  // Routes unnamed in the file are route0 (/down/), route1 (/r/), route2 (the rest).
  expect(sample('infergate_request_duration_seconds_count', { pool: 'p', group: 'stable', route: 'route2' })).toBe(3);
  expect(sample('infergate_request_duration_seconds_count', { pool: 'down', group: '', route: 'route0' })).toBe(1);
  expect(sample('infergate_upstream_duration_seconds_count', { pool: 'p', group: 'stable', backend: id })).toBe(3);
  expect(sample('infergate_request_duration_seconds_bucket', { pool: 'p', group: 'stable', route: 'route2', le: '+Inf' })).toBe(3);
  expect(sample('infergate_time_to_first_byte_seconds_count', { pool: 'p', group: 'stable' })).toBe(3);
  expect(sample('infergate_response_bytes_total', { pool: 'p', group: 'stable' })).toBe(3);
});

test('backend gauges: inflight, up and one-hot state', () => {
  expect(sample('infergate_backend_inflight', { pool: 'p', group: 'stable', backend: id })).toBe(0);
  expect(sample('infergate_backend_up', { pool: 'p', group: 'stable', backend: id })).toBe(1);
  expect(sample('infergate_backend_up', { pool: 'down', group: 'default', backend: 'down.default.127.0.0.1:9' })).toBe(0);
  expect(sample('infergate_backend_state', { pool: 'p', group: 'stable', backend: id, state: 'READY' })).toBe(1);
  expect(sample('infergate_backend_state', { pool: 'p', group: 'stable', backend: id, state: 'LOADING' })).toBe(0);
  expect(sample('infergate_backend_state', { pool: 'down', group: 'default', backend: 'down.default.127.0.0.1:9', state: 'LOADING' })).toBe(1);
});

test('health checks and transitions are counted', () => {
  expect(sample('infergate_health_checks_total', { pool: 'p', group: 'stable', backend: id, result: 'pass' })).toBe(1);
  expect(sample('infergate_health_checks_total', { pool: 'down', group: 'default', backend: 'down.default.127.0.0.1:9', result: 'fail' })).toBe(1);
  expect(sample('infergate_backend_state_transitions_total', { pool: 'p', group: 'stable', backend: id, from: 'LOADING', to: 'READY' })).toBe(1);
});

test('retries are counted by pool and reason', () => {
  const retried = text.split('\n').filter((l) => l.startsWith('infergate_retries_total{') && l.includes('pool="r"'));
  // Only the first request met the resetting backend, retried once for free; then that backend was held.
  expect(retried).toEqual(['infergate_retries_total{pool="r",reason="reused-connection"} 1']);
});

test('errors by kind and the config reload state', () => {
  expect(sample('infergate_errors_total', { pool: 'down', kind: 'no-ready-backend' })).toBe(1);
  expect(sample('infergate_config_last_reload_success', {})).toBe(1);
  // Wall-clock seconds of the load that started the app: recent, not 0.
  expect(sample('infergate_config_last_reload_success_timestamp_seconds', {})).toBeGreaterThan(Date.now() / 1000 - 3600);
  expect(sample('infergate_backend_effective_weight', { pool: 'p', group: 'stable', backend: id })).toBe(1);
  // The retried reset counts against the resetting backend even though the request succeeded.
  expect(text.split('\n').some((l) => l.startsWith('infergate_backend_errors_total{pool="r"') && !l.endsWith(' 0'))).toBe(true);
});

test('no high-cardinality labels: never a path or a request id', () => {
  expect(text).not.toContain('/ok');
  expect(text).not.toContain('/down/x');
  expect(text).not.toMatch(/request_?id/i);
});

// The access log: exactly one JSON line per request, with the fields operators grep for.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { startStack, type Stack } from '../helpers/stack.js';

let backend: TestBackend;
let stack: Stack;
// The proxy's clock: every answer takes 7 ms on it, so timings in the log are exact.
const clock = new ManualClock();

beforeAll(async () => {
  backend = await startBackend((req, res, body) => {
    clock.advance(7);
    res.writeHead(req.url === '/boom' ? 500 : 200, { 'content-type': 'text/plain' });
    res.end(`echo:${body.toString()}`);
  });
  stack = await startStack(`
routes:
  - { match: { pathPrefix: /none/ }, pool: none }
  - { match: {}, pool: p }
pools:
  p:
    health: { readiness: { path: /health, interval: 1s, timeout: 1s } }
    groups:
      g1: { weight: 100, backends: [${backend.url}] }
  none:
    queue: false
    health: { readiness: { path: /health, interval: 1s, timeout: 1s } }
    backends: [http://127.0.0.1:9]
`, { waitReady: false, deps: { clock } });
  await stack.waitForLog((l) => l.msg === 'backend state changed' && l.pool === 'p' && l.to === 'READY');
});
afterAll(async () => {
  await stack.close();
  await backend.close();
});

const accessFor = (id: string) => stack.waitForLog((l) => l.kind === 'access' && l.requestId === id);

test('a proxied request: one line with every field, sizes and timings filled in', async () => {
  const res = await fetch(`${stack.url}/v1/predict?q=1&api_key=s3cr3t`, { method: 'POST', body: 'hello', headers: { 'x-request-id': 'req-one', 'user-agent': 'curl/8.5.0', authorization: 'Bearer top-secret', cookie: 'session=also-secret' } });
  expect(await res.text()).toBe('echo:hello');
  const line = await accessFor('req-one');
  expect(line).toMatchObject({
    kind: 'access',
    level: 'info',
    service: 'infergate',
    requestId: 'req-one',
    client: '127.0.0.1',
    peer: '127.0.0.1',
    proto: 'h1',
    method: 'POST',
    path: '/v1/predict?q=1&api_key=REDACTED',
    status: 200,
    upstreamStatus: 200,
    pool: 'p',
    group: 'g1',
    backend: `p.g1.127.0.0.1:${backend.port}`,
    pick: 'single',
    attempts: 1,
    bytesIn: 5,
    bytesOut: 10,
    userAgent: 'curl/8.5.0',
    referer: null,
  });
  expect(line.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  expect(Math.abs(Date.parse(line.time as string) - Date.now())).toBeLessThan(60_000);
  // Upstream time runs to the response head; the 7 ms the backend took are the only time that passed.
  expect(line).toMatchObject({ upstreamMs: 7, firstByteMs: 7, totalMs: 7 });
  expect(line).not.toHaveProperty('error');
  expect(line).not.toHaveProperty('cut');
  expect(line).not.toHaveProperty('fallbackFrom');
  // Credentials never reach the log, whatever carries them.
  expect(JSON.stringify(line)).not.toMatch(/s3cr3t|top-secret|also-secret/);
  expect(stack.logs.filter((l) => l.kind === 'access' && l.requestId === 'req-one')).toHaveLength(1);
});

test('an upstream 5xx is logged with its status', async () => {
  await (await fetch(`${stack.url}/boom`, { headers: { 'x-request-id': 'req-boom' } })).text();
  expect(await accessFor('req-boom')).toMatchObject({ status: 500, upstreamStatus: 500, pool: 'p', group: 'g1', attempts: 1 });
});

test('a request no backend could take: 503 line with the error code and empty backend', async () => {
  await (await fetch(`${stack.url}/none/x`, { headers: { 'x-request-id': 'req-none' } })).text();
  expect(await accessFor('req-none')).toMatchObject({ status: 503, upstreamStatus: null, pool: 'none', group: '', backend: '', pick: 'single', attempts: 0, error: 'no-ready-backend', bytesOut: 0, connectMs: -1, upstreamMs: -1, firstByteMs: -1 });
});

test('N requests give N lines, each with its own request id', async () => {
  const ids = Array.from({ length: 5 }, (_, i) => `req-many-${i}`);
  await Promise.all(ids.map(async (id) => (await fetch(`${stack.url}/m`, { headers: { 'x-request-id': id } })).text()));
  for (const id of ids) await accessFor(id);
  const lines = stack.logs.filter((l) => l.kind === 'access' && String(l.requestId).startsWith('req-many-'));
  expect(lines.map((l) => l.requestId).sort()).toEqual(ids);
});

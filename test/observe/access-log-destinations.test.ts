// Events and access lines are separable: the access log can go to stderr or a file, in JSON or nginx's combined format,
// while events stay on stdout; the file is reopened (logrotate) without losing a line.
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { startStack, type Stack } from '../helpers/stack.js';

let backend: TestBackend;
let stack: Stack | null = null;
const dirs: string[] = [];

beforeAll(async () => {
  backend = await startBackend();
});
afterEach(async () => {
  await stack?.close();
  stack = null;
});
afterAll(async () => {
  await backend.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const pool = () => `pools:
  p:
    health: { readiness: { path: /health, interval: 1s, timeout: 1s } }
    backends: [${backend.url}]
`;

async function get(id: string, headers: Record<string, string> = {}): Promise<void> {
  const res = await fetch(`${stack!.url}/predict?token=t0ps3cret`, { headers: { 'x-request-id': id, ...headers } });
  expect(res.status).toBe(200);
  await res.text();
}

/** The file's content once `pred` holds (lines are flushed every 200 ms); bounded. */
async function fileUntil(file: string, pred: (text: string) => boolean): Promise<string> {
  for (let i = 0; i < 150; i++) {
    const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
    if (pred(text)) return text;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${file} never matched; it holds:\n${existsSync(file) ? readFileSync(file, 'utf8') : '(missing)'}`);
}

test('to: stderr, format: combined — access lines on stderr only, events on stdout only', async () => {
  stack = await startStack(`log: { level: info, accessLog: { to: stderr, format: combined } }\ntrustedProxies: [127.0.0.1]\n${pool()}`);
  await get('comb-1', { 'user-agent': 'bench/1.0', referer: 'https://app.example/?sig=abc', 'x-forwarded-for': '198.51.100.20' });
  const line = await stack.waitForStderr((l) => l.includes('GET /predict'));
  // The real client from the trusted peer's X-Forwarded-For, the query secret redacted, referer and agent quoted.
  // The backend hears the same client in X-Real-IP; X-Forwarded-For gets the peer appended.
  expect(backend.requests.at(-1)!.headers).toMatchObject({ 'x-real-ip': '198.51.100.20', 'x-forwarded-for': '198.51.100.20, 127.0.0.1' });
  expect(line).toMatch(/^198\.51\.100\.20 - - \[\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "GET \/predict\?token=REDACTED HTTP\/1\.1" 200 \d+ "https:\/\/app\.example\/\?sig=REDACTED" "bench\/1\.0"$/);
  stack.app.loggers.log.info('marker');
  await stack.waitForLog((l) => l.msg === 'marker');
  expect(stack.logs.filter((l) => l.kind !== 'event')).toEqual([]);
  expect(stack.logs.some((l) => l.msg === 'infergate started')).toBe(true);
  expect(stack.stderrLines.every((l) => !l.startsWith('{'))).toBe(true);
});

test('to: stderr, format: json — JSON access lines (kind access) on stderr; stdout holds events (kind event)', async () => {
  stack = await startStack(`log: { level: info, accessLog: { to: stderr } }\n${pool()}`);
  await get('json-err');
  const line = JSON.parse(await stack.waitForStderr((l) => l.includes('json-err'))) as Record<string, unknown>;
  expect(line).toMatchObject({ kind: 'access', level: 'info', requestId: 'json-err', client: '127.0.0.1', path: '/predict?token=REDACTED' });
  expect(stack.logs.length).toBeGreaterThan(0);
  expect(stack.logs.every((l) => l.kind === 'event' && typeof l.level === 'string' && /^\d{4}-\d\d-\d\dT/.test(String(l.time)))).toBe(true);
});

test('to: FILE — lines go to the file; after a rename, reopen() starts a new file and no line is lost', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'infergate-access-'));
  dirs.push(dir);
  const file = path.join(dir, 'logs', 'access.log');
  stack = await startStack(`log: { level: info, accessLog: { to: ${file} } }\n${pool()}`);
  await get('file-1');
  await fileUntil(file, (t) => t.includes('"file-1"'));
  // logrotate: rename, then the postrotate signal. A line written in between still lands in the renamed file.
  renameSync(file, `${file}.1`);
  await get('file-2');
  await stack.app.loggers.reopen();
  await get('file-3');
  const fresh = await fileUntil(file, (t) => t.includes('"file-3"'));
  const rotated = await fileUntil(`${file}.1`, (t) => t.includes('"file-2"'));
  const ids = (text: string): string[] => text.trim().split('\n').map((l) => (JSON.parse(l) as { requestId: string }).requestId);
  expect(ids(rotated)).toEqual(['file-1', 'file-2']);
  expect(ids(fresh)).toEqual(['file-3']);
  await stack.waitForLog((l) => l.msg === 'access log reopened' && l.file === file);
  // Nothing of the access log on stdout.
  expect(stack.logs.filter((l) => l.kind === 'access')).toEqual([]);
});

test('a reload moves the access log (stdout -> file -> off) from the next request on', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'infergate-access-'));
  dirs.push(dir);
  const file = path.join(dir, 'access.log');
  stack = await startStack(`log: { level: info, accessLog: true }\n${pool()}`);
  await get('r-1');
  await stack.waitForLog((l) => l.kind === 'access' && l.requestId === 'r-1');
  const { parseConfig } = await import('../../src/config/load.js');
  const reload = (log: string): void => {
    const r = parseConfig(`listen: 127.0.0.1:0\nadmin: { listen: 127.0.0.1:0 }\nlog: ${log}\n${pool()}`, 'test.yaml', {});
    if (!r.ok) throw new Error('config');
    stack!.app.reload(r.config);
  };
  reload(`{ level: info, accessLog: { to: ${file}, format: combined } }`);
  await get('r-2', { 'user-agent': 'after-reload' });
  await fileUntil(file, (t) => t.includes('"after-reload"'));
  reload('{ level: info, accessLog: false }');
  await get('r-3');
  stack.app.loggers.log.info('marker');
  await stack.waitForLog((l) => l.msg === 'marker');
  expect(stack.logs.filter((l) => l.kind === 'access').map((l) => l.requestId)).toEqual(['r-1']);
  expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(1);
});

test('connectMs: the request that opened a new upstream connection has it; the next one, on the pooled connection, -1', async () => {
  stack = await startStack(`log: { level: info, accessLog: true }\npools:
  p:
    upstream: { connections: 1 }
    health: { readiness: { path: /health, interval: 1s, timeout: 1s } }
    backends: [${backend.url}]
`);
  await get('conn-1');
  await get('conn-2');
  const first = await stack.waitForLog((l) => l.kind === 'access' && l.requestId === 'conn-1');
  const second = await stack.waitForLog((l) => l.kind === 'access' && l.requestId === 'conn-2');
  expect(first.connectMs as number).toBeGreaterThanOrEqual(0);
  expect(first.connectMs as number).toBeLessThanOrEqual(first.upstreamMs as number);
  expect(second.connectMs).toBe(-1);
});

test('a file that cannot be opened: an error at start; on a reload, logged, and the previous access log kept', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'infergate-access-'));
  dirs.push(dir);
  // A regular file where a directory should be: fails for root too.
  writeFileSync(path.join(dir, 'plain'), '');
  const bad = path.join(dir, 'plain', 'access.log');
  await expect(startStack(`log: { level: info, accessLog: { to: ${bad} } }\n${pool()}`)).rejects.toThrow(`cannot open the access log file ${bad}`);
  stack = await startStack(`log: { level: info, accessLog: true }\n${pool()}`);
  const { parseConfig } = await import('../../src/config/load.js');
  const r = parseConfig(`listen: 127.0.0.1:0\nadmin: { listen: 127.0.0.1:0 }\nlog: { level: info, accessLog: { to: ${bad} } }\n${pool()}`, 'test.yaml', {});
  if (!r.ok) throw new Error('config');
  stack.app.reload(r.config);
  await stack.waitForLog((l) => l.level === 'error' && String(l.msg).startsWith(`cannot open the access log file ${bad}`));
  await get('kept');
  await stack.waitForLog((l) => l.kind === 'access' && l.requestId === 'kept');
  // The rest of the reload went through.
  await stack.waitForLog((l) => l.msg === 'configuration reloaded');
});

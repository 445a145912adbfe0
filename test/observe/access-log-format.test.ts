// access-log.ts in isolation: the JSON line (fields, order, ISO time, level word) and nginx's combined line, exactly.
import { Writable } from 'node:stream';
import { expect, test } from 'vitest';
import { AccessLog, combinedLine, escape, jsonLine, localTime, type AccessEntry } from '../../src/observe/access-log.js';
import { QueryRedactor } from '../../src/observe/redact-query.js';

const redactor = new QueryRedactor(['token', 'api_key']);
// 2026-11-27T05:36:04.123Z
const NOW = Date.UTC(2026, 10, 27, 5, 36, 4, 123);

function entry(over: Partial<AccessEntry> = {}): AccessEntry {
  return {
    requestId: 'req-1', client: '203.0.113.9', peer: '10.0.0.2', proto: 'h1', httpVersion: '1.1', method: 'POST',
    url: '/v2/models/m/infer?token=abc&x=1', status: 200, upstreamStatus: 200, pool: 'p', group: 'stable', backend: 'p.stable.10.1.1.1:8000',
    pick: 'weighted', affinity: null, overload: null, fallbackFrom: null, attempts: 1, connectMs: 0.4567, upstreamMs: 12.3456, firstByteMs: 13, totalMs: 14.0004,
    bytesIn: 42, bytesOut: 1234, userAgent: 'curl/8.5.0', referer: undefined, error: null, cut: null, ...over,
  };
}

test('json: every field in a fixed order, ISO-8601 time, level as a word, kind access, ms rounded to µs', () => {
  const line = jsonLine(entry(), redactor, NOW);
  expect(line.endsWith('}\n')).toBe(true);
  const parsed = JSON.parse(line) as Record<string, unknown>;
  expect(Object.keys(parsed)).toEqual([
    'level', 'time', 'service', 'kind', 'requestId', 'client', 'peer', 'proto', 'method', 'path', 'status', 'upstreamStatus', 'pool',
    'group', 'backend', 'pick', 'attempts', 'connectMs', 'upstreamMs', 'firstByteMs', 'totalMs', 'bytesIn', 'bytesOut', 'userAgent', 'referer',
  ]);
  expect(parsed).toEqual({
    level: 'info', time: '2026-11-27T05:36:04.123Z', service: 'infergate', kind: 'access', requestId: 'req-1', client: '203.0.113.9',
    peer: '10.0.0.2', proto: 'h1', method: 'POST', path: '/v2/models/m/infer?token=REDACTED&x=1', status: 200, upstreamStatus: 200, pool: 'p',
    group: 'stable', backend: 'p.stable.10.1.1.1:8000', pick: 'weighted', attempts: 1, connectMs: 0.457, upstreamMs: 12.346, firstByteMs: 13,
    totalMs: 14, bytesIn: 42, bytesOut: 1234, userAgent: 'curl/8.5.0', referer: null,
  });
});

test('json: affinity and overload appear only when set, right after pick', () => {
  const parsed = JSON.parse(jsonLine(entry({ affinity: 'gated', overload: 'held' }), redactor, NOW)) as Record<string, unknown>;
  const keys = Object.keys(parsed);
  expect(keys.slice(keys.indexOf('pick'), keys.indexOf('pick') + 3)).toEqual(['pick', 'affinity', 'overload']);
  expect(parsed).toMatchObject({ affinity: 'gated', overload: 'held' });
});

test('json: cut, fallbackFrom and error appear only when set; absent upstream answer is null, absent timings -1', () => {
  const parsed = JSON.parse(jsonLine(entry({ cut: 'upstream-reset', error: 'upstream-reset', fallbackFrom: 'canary' }), redactor, NOW)) as Record<string, unknown>;
  expect(parsed).toMatchObject({ status: 200, cut: 'upstream-reset', error: 'upstream-reset', fallbackFrom: 'canary' });
  // cut sits right after the status it qualifies.
  expect(Object.keys(parsed).slice(10, 12)).toEqual(['status', 'cut']);
  const none = JSON.parse(jsonLine(entry({ upstreamStatus: 0, pick: null, connectMs: -1, upstreamMs: -1, firstByteMs: -1, status: 404 }), redactor, NOW)) as Record<string, unknown>;
  expect(none).toMatchObject({ upstreamStatus: null, pick: null, connectMs: -1, upstreamMs: -1, firstByteMs: -1 });
});

test('json: hostile strings stay one valid line', () => {
  const line = jsonLine(entry({ userAgent: 'a"b\\c\nd\u0000e\u2028\ud800', url: '/x"\n', referer: 'https://r.example/?api_key=k' }), redactor, NOW);
  expect(line.indexOf('\n')).toBe(line.length - 1);
  const parsed = JSON.parse(line) as Record<string, unknown>;
  expect(parsed).toMatchObject({ userAgent: 'a"b\\c\nd\u0000e\u2028\ud800', path: '/x"\n', referer: 'https://r.example/?api_key=REDACTED' });
});

test('combined: nginx\'s line byte for byte', () => {
  const e = entry({ referer: 'https://app.example/page?token=t', userAgent: 'Mozilla/5.0 (X11; Linux x86_64)' });
  expect(combinedLine(e, redactor, NOW)).toBe(
    `203.0.113.9 - - [${localTime(NOW)}] "POST /v2/models/m/infer?token=REDACTED&x=1 HTTP/1.1" 200 1234 "https://app.example/page?token=REDACTED" "Mozilla/5.0 (X11; Linux x86_64)"\n`,
  );
  // Empty referer and user agent are "-", as nginx writes them; HTTP/2 is HTTP/2.0.
  expect(combinedLine(entry({ referer: undefined, userAgent: undefined, httpVersion: '2.0', method: 'GET', url: '/', status: 499, bytesOut: 0 }), redactor, NOW))
    .toBe(`203.0.113.9 - - [${localTime(NOW)}] "GET / HTTP/2.0" 499 0 "-" "-"\n`);
});

test('$time_local: dd/Mon/yyyy:HH:MM:SS +hhmm in the process time zone', () => {
  const text = localTime(NOW);
  expect(text).toMatch(/^\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}$/);
  // The same instant: parse it back through the offset it states.
  const m = /^(\d\d)\/(\w{3})\/(\d{4}):(\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)$/.exec(text)!;
  const month = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'].indexOf(m[2]!);
  const offsetMin = (m[7] === '-' ? -1 : 1) * (Number(m[8]) * 60 + Number(m[9]));
  const utc = Date.UTC(Number(m[3]), month, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6])) - offsetMin * 60_000;
  expect(utc).toBe(NOW - 123);
  expect(offsetMin + 0).toBe(-new Date(NOW).getTimezoneOffset() + 0);
});

test('combined escaping is nginx\'s: " \\ control bytes and bytes >= 0x7f as \\xHH', () => {
  expect(escape('plain text/1.0 (ok)')).toBe('plain text/1.0 (ok)');
  expect(escape('a"b\\c')).toBe('a\\x22b\\x5Cc');
  expect(escape('tab\there\x7f\xe9')).toBe('tab\\x09here\\x7F\\xE9');
  expect(escape('€')).toBe('\\xE2\\x82\\xAC');
  const line = combinedLine(entry({ userAgent: 'evil"\n' }), redactor, NOW);
  expect(line.endsWith('"evil\\x22\\x0A"\n')).toBe(true);
});

test('AccessLog writes one line per entry to its destination, with its clock', () => {
  const chunks: string[] = [];
  const dest = new Writable({ write(c: Buffer, _e, cb) { chunks.push(c.toString()); cb(); } });
  const log = new AccessLog('json', dest as never, redactor, () => NOW);
  log.write(entry());
  log.write(entry({ requestId: 'req-2' }));
  expect(chunks).toHaveLength(2);
  expect(chunks.map((c) => (JSON.parse(c) as { requestId: string }).requestId)).toEqual(['req-1', 'req-2']);
  const combined = new AccessLog('combined', dest as never, redactor, () => NOW);
  combined.write(entry());
  expect(chunks[2]).toBe(combinedLine(entry(), redactor, NOW));
});

// The access log: one line per client request, as JSON ("kind":"access") or in nginx's combined format, written
// straight to its destination (no logger in between: the line is built by hand, once, for speed).
import type { DestinationStream } from 'pino';
import type { ChoiceReason } from '../routing/groups.js';
import type { QueryRedactor } from './redact-query.js';

/** Everything one access line says; built once per request by proxy/accounting.ts. */
export interface AccessEntry {
  requestId: string;
  /** The real client (the peer, or from X-Forwarded-For when the peer is a trusted proxy). */
  client: string;
  /** The TCP peer. */
  peer: string;
  proto: 'h1' | 'h2' | 'grpc';
  /** HTTP version as in a request line: 1.0, 1.1, 2.0. */
  httpVersion: string;
  method: string;
  /** As received: the log redacts it. */
  url: string;
  status: number;
  /** The last attempt's response status; 0 when no backend answered. */
  upstreamStatus: number;
  pool: string;
  /** The group and backend that took the last attempt ('' when none did). */
  group: string;
  backend: string;
  /** How the group was chosen; null when no pick happened (no route, 413 before the pick). */
  pick: ChoiceReason | null;
  /** What prefix affinity did (hit, miss, gated, no-prompt); null when the pool has none. */
  affinity: string | null;
  /** Held in the queue or shed because every backend was past its overload thresholds; null otherwise. */
  overload: 'held' | 'shed' | null;
  /** The group the request was meant for when another group took it; null when its own did. */
  fallbackFrom: string | null;
  attempts: number;
  /** A new upstream connection was opened for the last attempt: how long it took (TCP, and TLS when any); else -1. */
  connectMs: number;
  /** Last attempt: request sent -> response head; -1 when none. */
  upstreamMs: number;
  /** Request received -> first response byte to the client; -1 when none was sent. */
  firstByteMs: number;
  totalMs: number;
  bytesIn: number;
  bytesOut: number;
  userAgent: string | undefined;
  referer: string | undefined;
  /** The failure's code (proxy/failures.ts), or null. */
  error: string | null;
  /** The response had started (headers sent) when this failure cut it; null for a complete response. */
  cut: string | null;
}

export type AccessFormat = 'json' | 'combined';

export class AccessLog {
  readonly #line: (e: AccessEntry, redactor: QueryRedactor, nowMs: number) => string;

  constructor(
    format: AccessFormat,
    readonly destination: DestinationStream,
    readonly redactor: QueryRedactor,
    readonly now: () => number = Date.now,
  ) {
    this.#line = format === 'json' ? jsonLine : combinedLine;
  }

  write(e: AccessEntry): void {
    this.destination.write(this.#line(e, this.redactor, this.now()));
  }
}

/** A JSON string literal; the common case (nothing to escape) skips JSON.stringify's scan-and-copy. */
const JSON_ESCAPE = /["\\\x00-\x1f\ud800-\udfff]/;
const str = (s: string): string => (JSON_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`);
const round = (ms: number): number => (ms < 0 ? -1 : Math.round(ms * 1000) / 1000);

/** One JSON object: the fields always in this order, `cut`, `affinity`, `overload`, `fallbackFrom` and `error` only when set. */
export function jsonLine(e: AccessEntry, redactor: QueryRedactor, nowMs: number): string {
  let s = `{"level":"info","time":"${isoTime(nowMs)}","service":"infergate","kind":"access","requestId":${str(e.requestId)},"client":${str(e.client)},"peer":${str(e.peer)},"proto":"${e.proto}","method":${str(e.method)},"path":${str(redactor.redact(e.url))},"status":${e.status}`;
  if (e.cut !== null) s += `,"cut":${str(e.cut)}`;
  s += `,"upstreamStatus":${e.upstreamStatus === 0 ? 'null' : e.upstreamStatus},"pool":${str(e.pool)},"group":${str(e.group)},"backend":${str(e.backend)},"pick":${e.pick === null ? 'null' : `"${e.pick}"`}`;
  if (e.affinity !== null) s += `,"affinity":"${e.affinity}"`;
  if (e.overload !== null) s += `,"overload":"${e.overload}"`;
  if (e.fallbackFrom !== null) s += `,"fallbackFrom":${str(e.fallbackFrom)}`;
  s += `,"attempts":${e.attempts},"connectMs":${round(e.connectMs)},"upstreamMs":${round(e.upstreamMs)},"firstByteMs":${round(e.firstByteMs)},"totalMs":${round(e.totalMs)},"bytesIn":${e.bytesIn},"bytesOut":${e.bytesOut}`;
  s += `,"userAgent":${e.userAgent === undefined ? 'null' : str(e.userAgent)},"referer":${e.referer === undefined ? 'null' : str(redactor.redact(e.referer))}`;
  if (e.error !== null) s += `,"error":${str(e.error)}`;
  return s + '}\n';
}

/**
 * nginx's `combined`, exactly: `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent
 * "$http_referer" "$http_user_agent"`, with nginx's escaping; $remote_user is always `-` (credentials are never logged).
 */
export function combinedLine(e: AccessEntry, redactor: QueryRedactor, nowMs: number): string {
  return `${e.client} - - [${localTime(nowMs)}] "${escape(e.method)} ${escape(redactor.redact(e.url))} HTTP/${e.httpVersion}" ${e.status} ${e.bytesOut} "${e.referer === undefined || e.referer === '' ? '-' : escape(redactor.redact(e.referer))}" "${e.userAgent === undefined || e.userAgent === '' ? '-' : escape(e.userAgent)}"\n`;
}

// Both time texts are cached: under load many lines share a millisecond (ISO) or a second (local time).
let isoMs = Number.NaN;
let isoText = '';
function isoTime(ms: number): string {
  if (ms !== isoMs) {
    isoMs = ms;
    isoText = new Date(ms).toISOString();
  }
  return isoText;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
let localSecond = Number.NaN;
let localText = '';
/** nginx's $time_local: `27/Nov/2026:05:36:04 +0000`, in the process's time zone. */
export function localTime(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== localSecond) {
    localSecond = second;
    const d = new Date(ms);
    const offset = -d.getTimezoneOffset();
    const abs = Math.abs(offset);
    localText = `${pad(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${offset < 0 ? '-' : '+'}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`;
  }
  return localText;
}

const pad = (n: number): string => (n < 10 ? `0${n}` : String(n));

/** nginx's default log escaping: `"`, `\`, control characters and bytes >= 0x7f as \xHH (UTF-8 bytes above 0xff). */
const NEEDS_ESCAPE = /["\\\x00-\x1f\x7f-\uffff]/;
export function escape(text: string): string {
  if (!NEEDS_ESCAPE.test(text)) return text;
  let out = '';
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (c === 0x22 || c === 0x5c || c < 0x20 || (c >= 0x7f && c <= 0xff)) out += hexByte(c);
    else if (c > 0xff) for (const b of Buffer.from(ch, 'utf8')) out += hexByte(b);
    else out += ch;
  }
  return out;
}

const hexByte = (b: number): string => `\\x${b < 16 ? '0' : ''}${b.toString(16).toUpperCase()}`;

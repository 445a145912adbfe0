// Parsers for the value types the config writes as text: durations, sizes, listen addresses, backend URLs.

import bytes from 'bytes';
import ms from 'ms';
import { isIP } from 'node:net';
import type { ListenAddress } from './types.js';

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

/** setTimeout fires at once for delays above 2^31-1 ms, so longer durations would silently misbehave. */
export const MAX_DURATION_MS = 2_147_483_647;

const durationHint = '(use e.g. 500ms, 2s, 1m, 1h30m)';

/** One step of a compound duration as nginx and Go write it ("1h30m", "2m30s", "1s500ms"). */
const compoundPart = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "1h30m" -> 5_400_000; null when the text is not a sequence of number+unit steps. */
function compound(text: string): number | null {
  compoundPart.lastIndex = 0;
  let total = 0;
  let steps = 0;
  while (compoundPart.lastIndex < text.length) {
    const m = compoundPart.exec(text);
    if (m === null) return null;
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    steps++;
  }
  return steps > 0 ? total : null;
}

/**
 * A duration needs its unit: "250ms", "1.5s", "2m", "1h30m" (nginx / Go style), or what `ms` reads ("2 minutes").
 * A bare number is refused — nginx reads 60 as seconds, others as milliseconds — except 0, which means off or none.
 */
export function parseDuration(value: number | string): Parsed<number> {
  const text = typeof value === 'number' ? String(value) : value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) {
    if (Number(text) === 0) return { ok: true, value: 0 };
    return { ok: false, message: `a bare number is not a duration: did you mean ${text}s? (or ${text}ms; write the unit, e.g. 500ms, 2s, 1m, 1h30m)` };
  }
  let out: number | undefined | null = null;
  if (typeof value === 'string' && text !== '' && text.length <= 100) out = compound(text.toLowerCase()) ?? (ms(text as ms.StringValue) as number | undefined);
  if (out === undefined || out === null || !Number.isFinite(out) || out < 0) {
    return { ok: false, message: `invalid duration ${JSON.stringify(value)} ${durationHint}` };
  }
  if (out > MAX_DURATION_MS) return { ok: false, message: `duration ${JSON.stringify(value)} is too long (at most 24d)` };
  return { ok: true, value: Math.round(out) };
}

// `bytes.parse` reads any leading digits ("5 parsecs" -> 5), so check the shape first.
const sizePattern = /^\d+(\.\d+)?\s*(b|kb|mb|gb|tb|pb)?$/i;

/** A number is bytes; a string like "16kb" or "1mb" goes through `bytes` (1kb = 1024). */
export function parseSize(value: number | string): Parsed<number> {
  let out: number | null = null;
  if (typeof value === 'number') out = Number.isSafeInteger(value) && value >= 0 ? value : null;
  else if (sizePattern.test(value.trim())) out = bytes.parse(value.trim());
  if (out === null || !Number.isSafeInteger(out) || out < 0) {
    return { ok: false, message: `invalid size ${JSON.stringify(value)} (use e.g. 512, 16kb, 1mb)` };
  }
  return { ok: true, value: out };
}

const wildcardHost = '0.0.0.0';

function parsePort(text: string): number | null {
  if (!/^\d{1,5}$/.test(text)) return null;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : null;
}

/** "host:port", "[::1]:port", ":port" or a bare port; a missing host means every interface. */
export function parseListen(value: number | string): Parsed<ListenAddress> {
  const bad: Parsed<ListenAddress> = {
    ok: false,
    message: `invalid listen address ${JSON.stringify(value)} (use host:port, :port or a port 0-65535; 0 = any free port)`,
  };
  const text = String(value).trim();
  let host = wildcardHost;
  let portText = text;
  const v6 = /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(text);
  if (v6) {
    host = v6[1] ?? '';
    portText = v6[2] ?? '';
  } else if (text.includes(':')) {
    const at = text.lastIndexOf(':');
    host = text.slice(0, at) || wildcardHost;
    portText = text.slice(at + 1);
    if (host.includes(':') || /\s/.test(host)) return bad;
  }
  // Port 0 asks the OS for a free port (tests, and running several instances side by side).
  const port = portText === '0' ? 0 : parsePort(portText);
  return port === null ? bad : { ok: true, value: { host, port } };
}

export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  return h === 'localhost' || h === '::1' || h === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

function isWildcard(host: string): boolean {
  return host === wildcardHost || host === '::' || host === '';
}

/** True when two listeners would fight over the same socket. */
export function listenersClash(a: ListenAddress, b: ListenAddress): boolean {
  if (a.port !== b.port || a.port === 0) return false;
  return a.host.toLowerCase() === b.host.toLowerCase() || isWildcard(a.host) || isWildcard(b.host);
}

export function formatListen(a: ListenAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** A backend is an http(s) origin: the proxy keeps the client's path, so a path here would be ignored. */
export function parseBackendUrl(text: string): Parsed<URL> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, message: `invalid URL ${JSON.stringify(text)} (use e.g. http://127.0.0.1:9101)` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { ok: false, message: `backend URL ${JSON.stringify(text)} must start with http:// or https://` };
  }
  if (url.username !== '' || url.password !== '') {
    return { ok: false, message: `backend URL ${JSON.stringify(text)} must not contain credentials` };
  }
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '' || /[?#]/.test(text)) {
    return { ok: false, message: `backend URL ${JSON.stringify(text)} must be an origin like http://host:port (no path or query)` };
  }
  return { ok: true, value: url };
}

/** The port a URL connects to, explicit even when it is the scheme's default. */
export function effectivePort(url: URL): number {
  if (url.port !== '') return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

/** null when `text` is an IP address or a CIDR block (`10.0.0.0/8`, `fd00::/8`), else what is wrong with it. */
export function checkIpOrCidr(text: string): string | null {
  const slash = text.indexOf('/');
  const address = slash === -1 ? text : text.slice(0, slash);
  const family = isIP(address);
  if (family === 0) return `invalid IP address or CIDR ${JSON.stringify(text)} (use e.g. 10.0.0.1, 10.0.0.0/8, fd00::/8)`;
  if (slash === -1) return null;
  const bits = text.slice(slash + 1);
  const max = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) return `invalid prefix length in ${JSON.stringify(text)} (0-${max})`;
  return null;
}

// The effective configuration as plain data (`check --dump`, GET /admin/config): defaults filled in, durations and
// sizes written back as text, secrets redacted.
import bytes from 'bytes';
import type { Config } from './types.js';

export const REDACTED = '<redacted>';

/** Keys whose value is a secret wherever they appear (admin.token, probe and warm-up headers). */
const SECRET_KEYS = /^(token|password|secret|authorization|proxy-authorization|cookie|x-api-key|api-key)$/i;

/** Size keys whose YAML name is not the typed name without `Bytes`. */
const SIZE_KEYS: Record<string, string> = { maxHeaderBytes: 'maxHeaderSize', maxBodyBytes: 'maxBodySize' };

/** Plain JSON-able data of a normalised Config: `fooMs` -> `foo: "2s"`, `fooBytes` -> `foo: "16KB"`. */
export function dumpConfig(config: Config): Record<string, unknown> {
  return plain(config) as Record<string, unknown>;
}

function plain(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'object') return value;
  if (value instanceof URL) return urlText(value);
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (value instanceof Set) return [...value].map(plain);
  if (value instanceof Map) return entries([...value.entries()].map(([k, v]) => [String(k), v]));
  if (Array.isArray(value)) return value.map(plain);
  return entries(Object.entries(value));
}

function entries(list: Array<[string, unknown]>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of list) {
    if (v === undefined) continue;
    if (SECRET_KEYS.test(k)) out[k] = v === null ? null : REDACTED;
    // Route matches hold headers as [name, value] pairs: written back as the YAML's map, secret values redacted.
    else if (k === 'headers' && Array.isArray(v)) out[k] = entries(v as Array<[string, unknown]>);
    else if (k.endsWith('Ms') && typeof v === 'number') out[k.slice(0, -2)] = duration(v);
    else if (k.endsWith('Bytes') && typeof v === 'number') out[SIZE_KEYS[k] ?? k.slice(0, -5)] = size(v);
    else out[k] = plain(v);
  }
  return out;
}

/** 0 stays 0; whole units where they divide (90000 -> "90s", 60000 -> "1m"), else ms. */
export function duration(msValue: number): string | number {
  if (msValue === 0) return 0;
  const units: Array<[number, string]> = [[86_400_000, 'd'], [3_600_000, 'h'], [60_000, 'm'], [1000, 's']];
  for (const [n, unit] of units) if (msValue % n === 0) return `${msValue / n}${unit}`;
  return `${msValue}ms`;
}

export function size(n: number): string | number {
  if (n === 0) return 0;
  return bytes.format(n, { unitSeparator: '' }) ?? n;
}

/** A URL with any password in it redacted. */
function urlText(u: URL): string {
  if (u.password === '') return u.href;
  const copy = new URL(u.href);
  copy.password = 'redacted';
  return copy.href;
}

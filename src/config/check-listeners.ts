// Cross-checks of the proxy listeners: addresses that clash (with each other or the admin listener) and TLS files
// that cannot be read or do not make a certificate/key pair — found by `check`, not at the first handshake.

import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { resolve } from 'node:path';
import type { PathIssue } from './errors.js';
import type { ListenAddress } from './types.js';
import { formatListen, listenersClash, parseListen } from './units.js';

type Raw = Record<string, unknown>;

function isRecord(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function addressOf(value: unknown): ListenAddress | null {
  if (typeof value !== 'string' && typeof value !== 'number') return null;
  const r = parseListen(value);
  return r.ok ? r.value : null;
}

/** Each listener as written (string or object), with its path in the tree. */
function listenerEntries(raw: unknown): { path: (string | number)[]; entry: unknown }[] {
  if (raw === undefined) return [{ path: [], entry: '127.0.0.1:8080' }];
  if (Array.isArray(raw)) return raw.map((entry, i) => ({ path: ['listen', i], entry }));
  return [{ path: ['listen'], entry: raw }];
}

/** The addresses of the proxy listeners that parse (for the admin clash check). */
export function listenerAddresses(raw: unknown): ListenAddress[] {
  return listenerEntries(raw).flatMap(({ entry }) => {
    const a = addressOf(isRecord(entry) ? entry.address : entry);
    return a === null ? [] : [a];
  });
}

function readable(file: string): string | null {
  try {
    readFileSync(file);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

function checkTls(tls: Raw, at: (string | number)[], baseDir: string, out: PathIssue[]): void {
  const files: Record<string, string> = {};
  for (const key of ['cert', 'key', 'ca'] as const) {
    const v = tls[key];
    if (typeof v !== 'string' || v === '') continue;
    const file = resolve(baseDir, v);
    const problem = readable(file);
    if (problem === null) files[key] = file;
    else out.push({ path: [...at, 'tls', key], message: `cannot read ${file}: ${problem}` });
  }
  if (tls.clientAuth === 'require' && tls.ca === undefined) {
    out.push({ path: [...at, 'tls', 'clientAuth'], message: 'clientAuth: require needs tls.ca (the CA client certificates must chain to)' });
  }
  if (files.cert === undefined || files.key === undefined) return;
  try {
    createSecureContext({ cert: readFileSync(files.cert), key: readFileSync(files.key), ca: files.ca === undefined ? undefined : readFileSync(files.ca) });
  } catch (err) {
    out.push({ path: [...at, 'tls'], message: `certificate and key do not load: ${(err as Error).message}` });
  }
}

export function checkListeners(raw: unknown, baseDir: string, out: PathIssue[]): void {
  const seen: { address: ListenAddress; path: (string | number)[] }[] = [];
  for (const { path, entry } of listenerEntries(raw)) {
    const addressPath = isRecord(entry) ? [...path, 'address'] : path;
    const address = addressOf(isRecord(entry) ? entry.address : entry);
    if (address !== null) {
      const clash = seen.find((s) => listenersClash(s.address, address));
      if (clash !== undefined) out.push({ path: addressPath, message: `${formatListen(address)} clashes with another listener (${formatListen(clash.address)})` });
      seen.push({ address, path: addressPath });
    }
    if (isRecord(entry) && isRecord(entry.tls)) checkTls(entry.tls, path, baseDir, out);
  }
}


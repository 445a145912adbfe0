// The certificate files of a TLS listener: read, turned into a secure context, and watched so that a rotation
// (cert-manager, a Kubernetes Secret swapping its `..data` symlink, certbot) reaches new handshakes without a restart.
// Connections already open keep the context they were made with.
import { readFileSync, watch, watchFile, unwatchFile, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import { X509Certificate } from 'node:crypto';
import type { SecureContextOptions } from 'node:tls';
import type { ListenerTlsConfig } from '../config/types.js';

export interface TlsMaterial {
  readonly options: SecureContextOptions;
  /** Concatenation of the files read, to tell a real change from a touch. */
  readonly fingerprint: string;
  /** When the leaf certificate expires (ms since the epoch), or null when it cannot be parsed. */
  readonly notAfterMs: number | null;
}

export function readTlsMaterial(c: ListenerTlsConfig): TlsMaterial {
  const cert = readFileSync(c.certFile);
  const key = readFileSync(c.keyFile);
  const ca = c.caFile === null ? undefined : readFileSync(c.caFile);
  let notAfterMs: number | null = null;
  try {
    notAfterMs = Date.parse(new X509Certificate(cert).validTo);
  } catch {
    notAfterMs = null;
  }
  return {
    options: { cert, key, ca, minVersion: c.minVersion },
    fingerprint: `${cert.toString('base64')}|${key.toString('base64')}|${ca?.toString('base64') ?? ''}`,
    notAfterMs,
  };
}

/** Poll interval of the stat fallback: fs.watch misses changes on some mounts (NFS, some overlay set-ups). */
const POLL_MS = 10_000;
/** Writers replace cert and key one after the other: wait for both before reading. */
const SETTLE_MS = 250;

/** Calls `changed` (debounced) when any of the files or their directories change. */
export function watchTlsFiles(c: ListenerTlsConfig, changed: () => void): () => void {
  const files = [c.certFile, c.keyFile, ...(c.caFile === null ? [] : [c.caFile])];
  let timer: NodeJS.Timeout | null = null;
  const poke = (): void => {
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      changed();
    }, SETTLE_MS);
    timer.unref();
  };
  const watchers: FSWatcher[] = [];
  for (const dir of new Set(files.map((f) => dirname(f)))) {
    try {
      const w = watch(dir, { persistent: false }, poke);
      w.on('error', () => undefined);
      watchers.push(w);
    } catch {
      // the stat poll below still notices
    }
  }
  for (const f of files) watchFile(f, { persistent: false, interval: POLL_MS }, poke);
  return () => {
    if (timer !== null) clearTimeout(timer);
    for (const w of watchers) w.close();
    for (const f of files) unwatchFile(f, poke);
  };
}

// Certificates made at test time (selfsigned, EC keys: fast): a CA, server certificates for localhost / 127.0.0.1
// signed by it, and client certificates for mTLS. Written to a temporary directory when a test needs files.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';

export interface Pem {
  cert: string;
  key: string;
}

export async function makeCa(name = 'infergate test CA'): Promise<Pem> {
  const r = await generate([{ name: 'commonName', value: name }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [{ name: 'basicConstraints', cA: true, critical: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true }],
  });
  return { cert: r.cert, key: r.private };
}

/** A certificate signed by `ca`: for servers (localhost, 127.0.0.1) or for clients (`client: true`). */
export async function makeCert(ca: Pem, opts: { cn?: string; client?: boolean; notAfter?: Date } = {}): Promise<Pem> {
  const r = await generate([{ name: 'commonName', value: opts.cn ?? 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    ca: { key: ca.key, cert: ca.cert },
    notAfterDate: opts.notAfter,
    extensions: opts.client
      ? [{ name: 'extKeyUsage', clientAuth: true }]
      : [{ name: 'extKeyUsage', serverAuth: true }, { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] }],
  });
  return { cert: r.cert, key: r.private };
}

export function tempDir(prefix = 'infergate-tls-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Writes `name.crt` / `name.key` into `dir`; returns their paths. */
export function writePem(dir: string, name: string, pem: Pem): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  writeFileSync(cert, pem.cert);
  writeFileSync(key, pem.key);
  return { cert, key };
}

// Certificates for TLS to backends, made at test time: a CA, a server certificate it signs (for a name and 127.0.0.1)
// and a client certificate it signs (mTLS), as PEM text and as files in a temporary directory.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';

export interface BackendCerts {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** Another CA, which signed none of these (a backend the pool must not trust). */
  otherCa: string;
  /** Absolute paths of the same PEMs: ca, serverCert, serverKey, clientCert, clientKey, otherCa. */
  files: Record<'ca' | 'serverCert' | 'serverKey' | 'clientCert' | 'clientKey' | 'otherCa', string>;
  /** The DNS name in the server certificate (besides IP 127.0.0.1). */
  serverName: string;
  remove(): void;
}

const caExtensions = [{ name: 'basicConstraints' as const, cA: true, critical: true }, { name: 'keyUsage' as const, keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true }];

export async function makeBackendCerts(serverName = 'model.internal', withIp = true): Promise<BackendCerts> {
  const ec = { keyType: 'ec' as const, algorithm: 'sha256' };
  const ca = await generate([{ name: 'commonName', value: 'infergate test CA' }], { ...ec, extensions: caExtensions });
  const other = await generate([{ name: 'commonName', value: 'unrelated CA' }], { ...ec, extensions: caExtensions });
  const server = await generate([{ name: 'commonName', value: serverName }], {
    ...ec,
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: serverName }, ...(withIp ? [{ type: 7 as const, ip: '127.0.0.1' }] : [])] },
    ],
  });
  const client = await generate([{ name: 'commonName', value: 'infergate' }], {
    ...ec,
    ca: { key: ca.private, cert: ca.cert },
    extensions: [{ name: 'basicConstraints', cA: false }, { name: 'keyUsage', digitalSignature: true }, { name: 'extKeyUsage', clientAuth: true }],
  });
  const dir = mkdtempSync(join(tmpdir(), 'infergate-certs-'));
  const pems = { ca: ca.cert, serverCert: server.cert, serverKey: server.private, clientCert: client.cert, clientKey: client.private, otherCa: other.cert };
  const files = {} as BackendCerts['files'];
  for (const [k, v] of Object.entries(pems)) {
    const f = join(dir, `${k}.pem`);
    writeFileSync(f, v);
    files[k as keyof typeof pems] = f;
  }
  return { ...pems, files, serverName, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

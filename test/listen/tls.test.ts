// TLS on a listener: HTTP/1.1 and h2 through ALPN, client certificates (none / optional / require), and certificate
// rotation — by file change (cert-manager) and on reload — under load with zero failed requests.
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { makeCa, makeCert, tempDir, writePem, type Pem } from '../helpers/certs.js';
import { h2once } from '../helpers/h2-client.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { onePool } from '../e2e/support.js';

let backend: TestBackend;
let ca: Pem;
let dir: string;
let files: { cert: string; key: string };

beforeAll(async () => {
  backend = await startBackend();
  ca = await makeCa();
  dir = tempDir();
  files = writePem(dir, 'server', await makeCert(ca));
  writeFileSync(join(dir, 'ca.crt'), ca.cert);
});
afterAll(async () => {
  await backend.close();
});

function tlsListener(extra = ''): string {
  return `listen: { address: 127.0.0.1:0, tls: { cert: ${files.cert}, key: ${files.key}${extra} } }\n${onePool([backend.url])}`;
}

/** The SHA-256 fingerprint of the certificate a fresh handshake gets, and the protocol ALPN chose. */
function handshake(port: number, opts: tls.ConnectionOptions = {}): Promise<{ fingerprint: string; alpn: string | false }> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca: ca.cert, servername: 'localhost', ALPNProtocols: ['h2', 'http/1.1'], ...opts }, () => {
      const r = { fingerprint: s.getPeerCertificate().fingerprint256, alpn: s.alpnProtocol ?? false };
      s.end();
      resolve(r);
    });
    s.on('error', reject);
  });
}


/** No HTTP answer: the handshake failed, or (TLS 1.3: client certificates are checked after it) the connection closed. */
function refused(reply: Promise<{ status: number }>): Promise<boolean> {
  return reply.then((r) => r.status === 0, () => true);
}

test('HTTPS: HTTP/1.1 and h2 through ALPN on one port, X-Forwarded-Proto https', async () => {
  const stack = await startStack(tlsListener());
  const agent = new Agent({ connect: { ca: ca.cert, servername: 'localhost' } });
  try {
    const r = await request(`https://127.0.0.1:${stack.port}/one`, { dispatcher: agent });
    expect(r.statusCode).toBe(200);
    await r.body.text();
    expect(backend.requests.at(-1)?.headers['x-forwarded-proto']).toBe('https');
    const h2 = await h2once(`https://127.0.0.1:${stack.port}`, { ':path': '/two' }, undefined, { ca: ca.cert, servername: 'localhost' });
    expect(h2.status).toBe(200);
    expect((await handshake(stack.port)).alpn).toBe('h2');
    expect((await handshake(stack.port, { ALPNProtocols: ['http/1.1'] })).alpn).toBe('http/1.1');
    // A plain-text request on the TLS port gets no HTTP answer.
    await expect(fetch(`http://127.0.0.1:${stack.port}/`)).rejects.toThrow();
  } finally {
    await agent.close();
    await stack.close();
  }
});

test('clientAuth: require refuses a handshake without a certificate or with one from another CA', async () => {
  const client = await makeCert(ca, { cn: 'client', client: true });
  const stranger = await makeCert(await makeCa('other CA'), { cn: 'intruder', client: true });
  const stack = await startStack(tlsListener(`, ca: ${join(dir, 'ca.crt')}, clientAuth: require`));
  try {
    expect(await refused(h2once(`https://127.0.0.1:${stack.port}`, { ':path': '/' }, undefined, { ca: ca.cert, servername: 'localhost' }))).toBe(true);
    expect(await refused(h2once(`https://127.0.0.1:${stack.port}`, { ':path': '/' }, undefined, { ca: ca.cert, servername: 'localhost', cert: stranger.cert, key: stranger.key }))).toBe(true);
    const ok = await h2once(`https://127.0.0.1:${stack.port}`, { ':path': '/mtls' }, undefined, { ca: ca.cert, servername: 'localhost', cert: client.cert, key: client.key });
    expect(ok.status).toBe(200);
    const metrics = await (await fetch(`${stack.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/infergate_tls_handshake_errors_total\{listener="127\.0\.0\.1:0"\} [1-9]/);
  } finally {
    await stack.close();
  }
});

test('clientAuth: optional lets a client without a certificate in, but not one whose certificate does not verify', async () => {
  const stranger = await makeCert(await makeCa('other CA'), { cn: 'intruder', client: true });
  const stack = await startStack(tlsListener(`, ca: ${join(dir, 'ca.crt')}, clientAuth: optional`));
  try {
    expect((await h2once(`https://127.0.0.1:${stack.port}`, { ':path': '/' }, undefined, { ca: ca.cert, servername: 'localhost' })).status).toBe(200);
    expect(await refused(h2once(`https://127.0.0.1:${stack.port}`, { ':path': '/' }, undefined, { ca: ca.cert, servername: 'localhost', cert: stranger.cert, key: stranger.key }))).toBe(true);
  } finally {
    await stack.close();
  }
});

test('a rotated certificate (files replaced as cert-manager does) reaches new handshakes under load, zero failed requests', async () => {
  const rotDir = tempDir();
  const first = await makeCert(ca);
  const second = await makeCert(ca);
  const paths = writePem(rotDir, 'tls', first);
  const stack = await startStack(`listen: { address: 127.0.0.1:0, tls: { cert: ${paths.cert}, key: ${paths.key} } }\n${onePool([backend.url])}`);
  const { X509Certificate } = await import('node:crypto');
  const fp = (pem: string): string => new X509Certificate(pem).fingerprint256;
  let failures = 0;
  let ok = 0;
  let stop = false;
  // Keep-alive clients (existing connections must survive) and fresh handshakes side by side.
  const keepAlive = new Agent({ connect: { ca: ca.cert, servername: 'localhost' } });
  const loops = [
    ...Array.from({ length: 4 }, async () => {
      while (!stop) {
        try {
          const r = await request(`https://127.0.0.1:${stack.port}/ka`, { dispatcher: keepAlive });
          await r.body.text();
          if (r.statusCode === 200) ok++;
          else failures++;
        } catch {
          failures++;
        }
      }
    }),
    ...Array.from({ length: 2 }, async () => {
      while (!stop) {
        const fresh = new Agent({ connect: { ca: ca.cert, servername: 'localhost' } });
        try {
          const r = await request(`https://127.0.0.1:${stack.port}/fresh`, { dispatcher: fresh });
          await r.body.text();
          if (r.statusCode === 200) ok++;
          else failures++;
        } catch {
          failures++;
        } finally {
          await fresh.close();
        }
      }
    }),
  ];
  try {
    expect((await handshake(stack.port)).fingerprint).toBe(fp(first.cert));
    await new Promise((r) => setTimeout(r, 300));
    // Written beside, then renamed over: readers never see half a file.
    writeFileSync(`${paths.key}.new`, second.key);
    writeFileSync(`${paths.cert}.new`, second.cert);
    renameSync(`${paths.key}.new`, paths.key);
    renameSync(`${paths.cert}.new`, paths.cert);
    await stack.waitForLog((l) => l.msg === 'TLS certificate reloaded');
    expect((await handshake(stack.port)).fingerprint).toBe(fp(second.cert));
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    stop = true;
    await Promise.all(loops);
    await keepAlive.close();
    await stack.close();
  }
  expect(failures).toBe(0);
  expect(ok).toBeGreaterThan(20);
});

test('a half-written pair (new certificate, old key) is refused and the old certificate keeps serving; a reload re-reads', async () => {
  const rotDir = tempDir();
  const first = await makeCert(ca);
  const second = await makeCert(ca);
  const paths = writePem(rotDir, 'tls', first);
  const yaml = `listen: { address: 127.0.0.1:0, tls: { cert: ${paths.cert}, key: ${paths.key} } }\n${onePool([backend.url])}`;
  const stack = await startStack(yaml);
  const { X509Certificate } = await import('node:crypto');
  const fp = (pem: string): string => new X509Certificate(pem).fingerprint256;
  try {
    writeFileSync(paths.cert, second.cert);
    await stack.waitForLog((l) => l.msg === 'TLS certificate reload failed; keeping the previous certificate');
    expect((await handshake(stack.port)).fingerprint).toBe(fp(first.cert));
    writeFileSync(paths.key, second.key);
    // SIGHUP's path: the configuration is reloaded and the files re-read (the watcher may get there first).
    const parsed = parseConfig(yaml.replace('127.0.0.1:0', `127.0.0.1:${stack.port}`), 'test.yaml', {});
    if (!parsed.ok) throw new Error('config');
    stack.app.reload(parsed.config);
    await stack.waitForLog((l) => l.msg === 'TLS certificate reloaded');
    expect((await handshake(stack.port)).fingerprint).toBe(fp(second.cert));
  } finally {
    await stack.close();
  }
});

test('check reports an unreadable certificate file and a cert/key pair that does not match, with file:line:col', async () => {
  const other = writePem(tempDir(), 'other', await makeCert(ca));
  const missing = parseConfig(`listen:\n  address: 127.0.0.1:0\n  tls: { cert: /nonexistent/tls.crt, key: ${files.key} }\n${onePool([backend.url])}`, 'cfg.yaml', {});
  expect(missing.ok).toBe(false);
  if (!missing.ok) expect(missing.errors.map((e) => `${e.file}:${e.line}:${e.col}: ${e.message}`).join('\n')).toMatch(/^cfg\.yaml:3:\d+: listen\.tls\.cert: cannot read \/nonexistent\/tls\.crt/m);
  const mismatched = parseConfig(`listen:\n  address: 127.0.0.1:0\n  tls: { cert: ${files.cert}, key: ${other.key} }\n${onePool([backend.url])}`, 'cfg.yaml', {});
  expect(mismatched.ok).toBe(false);
  if (!mismatched.ok) expect(mismatched.errors[0]?.message).toMatch(/listen\.tls: certificate and key do not load/);
});

test('a reload from clientAuth none to require enforces mutual TLS on new connections (and back)', async () => {
  const client = await makeCert(ca, { cn: 'client', client: true });
  const open = `listen: { address: 127.0.0.1:PORT, tls: { cert: ${files.cert}, key: ${files.key} } }\n${onePool([backend.url])}`;
  const mtls = `listen: { address: 127.0.0.1:PORT, tls: { cert: ${files.cert}, key: ${files.key}, ca: ${join(dir, 'ca.crt')}, clientAuth: require } }\n${onePool([backend.url])}`;
  const stack = await startStack(open.replace('PORT', '0'));
  const reload = (yaml: string): void => {
    const parsed = parseConfig(yaml.replace('PORT', String(stack.port)), 'test.yaml', {});
    if (!parsed.ok) throw new Error(parsed.errors.map((e) => e.message).join('\n'));
    stack.app.reload(parsed.config);
  };
  const anonymous = (): Promise<boolean> => refused(h2once(`https://127.0.0.1:${stack.port}`, { ':path': '/' }, undefined, { ca: ca.cert, servername: 'localhost' }));
  try {
    expect(await anonymous()).toBe(false);
    reload(mtls);
    expect(await anonymous()).toBe(true);
    const ok = await h2once(`https://127.0.0.1:${stack.port}`, { ':path': '/' }, undefined, { ca: ca.cert, servername: 'localhost', cert: client.cert, key: client.key });
    expect(ok.status).toBe(200);
    reload(open);
    expect(await anonymous()).toBe(false);
  } finally {
    await stack.close();
  }
});

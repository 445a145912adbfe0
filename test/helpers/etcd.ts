// A real etcd for tests (Debian's etcd-server, installed by .ci/run as chromium is): one member on free loopback
// ports with a throw-away data directory. Tests that need it skip, saying why, where the binary is missing.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ETCD_BINARY = ['/usr/bin/etcd', '/usr/local/bin/etcd'].find((p) => existsSync(p)) ?? null;
export const ETCD_MISSING = ETCD_BINARY === null ? 'etcd is not installed (apt-get install -y etcd-server; .ci/run does it)' : null;

export interface Etcd {
  /** Client URL, e.g. http://127.0.0.1:23791. */
  readonly endpoint: string;
  /** Kill the process (the data stays: start() brings the same member back). */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stop and remove the data directory. */
  close(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export async function startEtcd(): Promise<Etcd> {
  if (ETCD_BINARY === null) throw new Error(ETCD_MISSING!);
  const dir = mkdtempSync(join(tmpdir(), 'infergate-etcd-'));
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const endpoint = `http://127.0.0.1:${clientPort}`;
  let child: ChildProcess | null = null;
  const start = async (): Promise<void> => {
    child = spawn(ETCD_BINARY, [
      '--name', 'test', '--data-dir', dir,
      '--listen-client-urls', endpoint, '--advertise-client-urls', endpoint,
      '--listen-peer-urls', `http://127.0.0.1:${peerPort}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`,
      '--initial-cluster', `test=http://127.0.0.1:${peerPort}`,
    ], { stdio: 'ignore' });
    // Ready when the client port answers /health.
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        const r = await fetch(`${endpoint}/health`);
        if (r.ok) return;
      } catch {
        // not up yet
      }
      if (Date.now() > deadline) throw new Error('etcd did not start within 15 s');
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const stop = async (): Promise<void> => {
    const c = child;
    child = null;
    if (c === null || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    endpoint,
    start,
    stop,
    close: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// Runs the built CLI (dist/cli.js) as a child process and reads its JSON log lines from stdout.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

export interface Proc {
  child: ChildProcess;
  logs: Array<Record<string, unknown>>;
  stderr(): string;
  waitForLog(pred: (l: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
}

const tempDirs: string[] = [];
// Registered in the root suite of whichever test file imports this module.
afterAll(() => {
  for (const d of tempDirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Writes `yaml` to a fresh temp file (removed after the importing test file) and returns its path. */
export function tempConfig(yaml: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'infergate-test-'));
  tempDirs.push(dir);
  const file = path.join(dir, 'infergate.yaml');
  writeFileSync(file, yaml);
  return file;
}

/** `fdLimit` runs the child under `ulimit -n` (a machine with a small open-files limit). */
export function runCli(args: string[], opts: { fdLimit?: number } = {}): Proc {
  const quoted = [process.execPath, CLI, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  const child = opts.fdLimit === undefined
    ? spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn('bash', ['-c', `ulimit -n ${opts.fdLimit} && exec ${quoted}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Array<Record<string, unknown>> = [];
  const waiters: Array<{ pred: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }> = [];
  let pending = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    let nl: number;
    while ((nl = pending.indexOf('\n')) !== -1) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (!line.startsWith('{')) continue;
      const parsed = JSON.parse(line) as Record<string, unknown>;
      logs.push(parsed);
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i]!.pred(parsed)) waiters.splice(i, 1)[0]!.resolve(parsed);
      }
    }
  });
  child.stderr!.on('data', (c: Buffer) => (err += c.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    logs,
    stderr: () => err,
    waitForLog(pred) {
      const found = logs.find(pred);
      if (found) return Promise.resolve(found);
      // A child that dies first fails the wait instead of hanging the test.
      return Promise.race([
        new Promise<Record<string, unknown>>((resolve) => waiters.push({ pred, resolve })),
        exited.then((code) => Promise.reject(new Error(`infergate exited (${code}) first; stderr:\n${err}`))),
      ]);
    },
    exited,
  };
}

/** SIGKILL a child that is still running and wait for its exit (test teardown; a process that already ended is left). */
export async function killProc(p: Proc | null): Promise<void> {
  if (p === null || p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGKILL');
  await p.exited;
}

/** The proxy and admin ports, from the "infergate started" line. */
export async function startedPorts(p: Proc): Promise<{ port: number; adminPort: number }> {
  const l = await p.waitForLog((x) => x.msg === 'infergate started');
  const portOf = (addr: unknown): number => Number(String(addr).split(':').at(-1));
  return { port: portOf(l.listen), adminPort: portOf(l.admin) };
}

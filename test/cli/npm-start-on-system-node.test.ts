// The README's first command on a machine whose own Node is older: `npm start` runs the demo on the project's
// pinned Node 24 (node_modules/.bin comes first on the PATH of npm scripts), not on the system's Node.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { expect, test } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
// The PATH a fresh shell has: without this project's node_modules/.bin (which npm test put first) or /opt/node24.
const systemPath = (process.env.PATH ?? '').split(delimiter).filter((p) => !p.includes('node_modules') && !p.includes('node24')).join(delimiter);
const systemNpm = systemPath.split(delimiter).map((d) => join(d, 'npm')).find((f) => existsSync(f));

test.skipIf(systemNpm === undefined)('npm start with the system Node first on PATH runs the demo on Node 24', async () => {
  const child = spawn(systemNpm!, ['start'], {
    cwd: root,
    env: { ...process.env, PATH: systemPath, INFERGATE_DEMO_TRAFFIC: '0', INFERGATE_DEMO_PORT: '0', INFERGATE_DEMO_ADMIN_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: npm, the shell it runs and the demo all stop together.
    detached: true,
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no READY backend within 25 s:\n${out}`)), 25_000);
      const check = (): void => {
        if (/\d+\.\d s +\S+ +READY /.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on('data', check);
      child.once('exit', () => reject(new Error(`npm start exited:\n${out}`)));
    });
    expect(out).toContain('infergate demo:');
    expect(out).not.toContain('needs Node.js');
  } finally {
    try {
      process.kill(-child.pid!, 'SIGINT');
    } catch {
      // already gone
    }
    const killTimer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    }, 5000);
    await exited;
    clearTimeout(killTimer);
  }
}, 40_000);

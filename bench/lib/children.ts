/** Owns every child process the bench starts: spawn, ready line, output tail for diagnostics, and cleanup on any exit. */
import { spawn, type ChildProcess } from 'node:child_process';

export interface Child {
  readonly name: string;
  readonly pid: number;
  readonly proc: ChildProcess;
  /** Last few KB of the child's stdout+stderr, for error messages. */
  tail(): string;
  /** `signal` (default SIGTERM), then SIGKILL after a grace period. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** SIGKILL (a crash, `kill -9`): no grace, no "exited early" warning; resolves once the process is gone. */
  kill(): Promise<void>;
}

const live = new Set<Child>();
const STOP_GRACE_MS = 3000;
const TAIL_CHARS = 4000;

// Last resort: if the bench dies without running its finally blocks, no child outlives it.
process.on('exit', () => {
  for (const child of live) child.proc.kill('SIGKILL');
});

export function spawnChild(name: string, command: string, args: readonly string[], env?: NodeJS.ProcessEnv): Child {
  // stdin stays a pipe: our own servers exit when it closes, so they die with the bench even on SIGKILL.
  const proc = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env: env ?? process.env });
  const pid = proc.pid;
  if (pid === undefined) throw new Error(`${name}: could not spawn ${command}`);
  let tail = '';
  const keep = (chunk: Buffer): void => {
    tail = (tail + chunk.toString('utf8')).slice(-TAIL_CHARS);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  let stopping = false;
  const exited = new Promise<void>((resolve) => {
    proc.once('exit', (code, signal) => {
      live.delete(child);
      if (!stopping) process.stderr.write(`[bench] ${name} (pid ${pid}) exited early: code=${code} signal=${signal}\n${tail}\n`);
      resolve();
    });
  });
  const child: Child = {
    name,
    pid,
    proc,
    tail: () => tail,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      stopping = true;
      proc.kill(signal);
      const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    },
    async kill() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      stopping = true;
      proc.kill('SIGKILL');
      await exited;
    },
  };
  live.add(child);
  return child;
}

/** Resolves with the first stdout line that parses as JSON with a numeric `port` (our servers print it once listening). */
export function waitForPortLine(child: Child, timeoutMs = 10_000): Promise<number> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString('utf8');
      for (const line of buffered.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          const parsed: unknown = JSON.parse(line);
          if (typeof parsed === 'object' && parsed !== null && 'port' in parsed && typeof parsed.port === 'number') {
            done();
            resolve(parsed.port);
            return;
          }
        } catch {
          // a partial line; wait for more output
        }
      }
    };
    const onExit = (): void => {
      done();
      reject(new Error(`${child.name} exited before listening:\n${child.tail()}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${child.name} did not report a port within ${timeoutMs} ms:\n${child.tail()}`));
    }, timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      child.proc.stdout?.off('data', onData);
      child.proc.off('exit', onExit);
    };
    child.proc.stdout?.on('data', onData);
    child.proc.once('exit', onExit);
  });
}

/** A reason when the child has already exited, for `waitForStatus(..., giveUp)`. */
export function exitReason(child: Child): () => string | undefined {
  return () => {
    const { exitCode, signalCode } = child.proc;
    return exitCode === null && signalCode === null ? undefined : `${child.name} exited during start-up (code ${exitCode}, signal ${signalCode})`;
  };
}

export async function stopAll(): Promise<void> {
  await Promise.allSettled([...live].map((child) => child.stop()));
}

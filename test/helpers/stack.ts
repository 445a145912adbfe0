// Boots the real app in process on port 0 from YAML text, waits for readiness, and collects its logs.
import { Writable } from 'node:stream';
import { createApp, type App, type AppDeps } from '../../src/app.js';
import { formatErrors, parseConfig } from '../../src/config/load.js';

export interface Stack {
  app: App;
  url: string;
  port: number;
  /** Every proxy listener's port, in configuration order. */
  ports: number[];
  adminUrl: string;
  adminPort: number;
  /** Every log line the app wrote, parsed. */
  logs: Array<Record<string, unknown>>;
  /** Resolves when a log line matching `pred` has been written (already written ones count). */
  waitForLog(pred: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  /** Every line written to the app's stderr stream (an access log with `to: stderr`), as text. */
  stderrLines: string[];
  /** Resolves when a stderr line matching `pred` has been written (already written ones count). */
  waitForStderr(pred: (line: string) => boolean): Promise<string>;
  close(): Promise<void>;
}

export interface StackOptions {
  /** Wait until /readyz says 200 before returning (default true). */
  waitReady?: boolean;
  deps?: Partial<AppDeps>;
}

/** The YAML gets `listen`/`admin` on port 0 prepended unless it sets them itself. */
export async function startStack(yamlText: string, opts: StackOptions = {}): Promise<Stack> {
  let text = yamlText;
  if (!/^listen:/m.test(text)) text = `listen: 127.0.0.1:0\n${text}`;
  if (!/^admin:/m.test(text)) text = `admin: { listen: 127.0.0.1:0 }\n${text}`;
  if (!/^log:/m.test(text)) text = `log: { level: info, accessLog: true }\n${text}`;
  const parsed = parseConfig(text, 'test.yaml', {});
  if (!parsed.ok) throw new Error(`test config invalid:\n${formatErrors(parsed.errors)}\n---\n${text}`);
  const logs: Array<Record<string, unknown>> = [];
  const waiters: Array<{ pred: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }> = [];
  let pending = '';
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      pending += chunk.toString('utf8');
      let nl: number;
      while ((nl = pending.indexOf('\n')) !== -1) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (!line) continue;
        const parsedLine = JSON.parse(line) as Record<string, unknown>;
        logs.push(parsedLine);
        for (let i = waiters.length - 1; i >= 0; i--) {
          const w = waiters[i]!;
          if (w.pred(parsedLine)) {
            waiters.splice(i, 1);
            w.resolve(parsedLine);
          }
        }
      }
      cb();
    },
  });
  const stderr = lineCollector();
  const app = createApp(parsed.config, { defaultMetrics: false, logDestination: destination as never, logStderr: stderr.stream as never, ...opts.deps });
  const { port, ports, adminPort } = await app.start();
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  const stack: Stack = {
    app,
    url: `http://127.0.0.1:${port}`,
    port,
    ports,
    adminUrl,
    adminPort,
    logs,
    waitForLog(pred) {
      const found = logs.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve) => waiters.push({ pred, resolve }));
    },
    stderrLines: stderr.lines,
    waitForStderr: stderr.waitFor,
    close: () => app.close(),
  };
  if (opts.waitReady !== false) await waitReady(stack);
  return stack;
}

/** Resolves when every pool has a READY backend (event-driven: waits on the state-change log lines). */
export async function waitReady(stack: Stack): Promise<void> {
  for (const pool of stack.app.pools()) {
    if (pool.hasReady()) continue;
    await stack.waitForLog((l) => l.msg === 'backend state changed' && l.pool === pool.name && l.to === 'READY');
  }
}

/** A writable stream that splits what it gets into lines, and waits for one. */
function lineCollector(): { stream: Writable; lines: string[]; waitFor(pred: (line: string) => boolean): Promise<string> } {
  const lines: string[] = [];
  const waiters: Array<{ pred: (l: string) => boolean; resolve: (l: string) => void }> = [];
  let pending = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      pending += chunk.toString('utf8');
      let nl: number;
      while ((nl = pending.indexOf('\n')) !== -1) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        lines.push(line);
        for (let i = waiters.length - 1; i >= 0; i--) if (waiters[i]!.pred(line)) waiters.splice(i, 1)[0]!.resolve(line);
      }
      cb();
    },
  });
  return {
    stream,
    lines,
    waitFor(pred) {
      const found = lines.find(pred);
      return found !== undefined ? Promise.resolve(found) : new Promise((resolve) => waiters.push({ pred, resolve }));
    },
  };
}

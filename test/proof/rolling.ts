// Shared rolling-restart harness of the proof tests: three READY backends, steady traffic, each restarted in turn.
import { startStack, type Stack } from '../helpers/stack.js';
import { backendByUrl, deferred, waitAllReady, within } from '../e2e/support.js';
import { RecordingModelServer } from './recording-model-server.js';
import { SteadyClient, type Outcome } from './steady-client.js';

/**
 * Readiness every 200 ms, one failure takes a backend out, warm-up of 2 requests before it returns;
 * the pool declares its POST inference safe to retry on another backend (`retry.methods`).
 */
export const ROLLING_POOL = `
log: { level: info, accessLog: true }
pools:
  p:
    balance: round-robin
    health:
      readiness: { path: /health, interval: 200ms, timeout: 500ms, healthyThreshold: 1, unhealthyThreshold: 1 }
    warmup: { requests: 2, method: POST, path: /v1/infer, body: "{}" }
    retry: { attempts: 2, methods: [POST] }
`;

export interface RollingRun {
  stack: Stack;
  servers: RecordingModelServer[];
  outcomes: Outcome[];
  client: SteadyClient;
  /**
   * Per server, wall-clock ms: when infergate took it out of READY and when it was READY again (null when
   * that did not happen within the bound), and the state it was left in.
   */
  windows: Array<{ id: string; out: number | null; back: number | null; state: string }>;
  close(): Promise<void>;
}

function stateLine(stack: Stack, id: string, pred: (to: string) => boolean, after: ReadonlySet<unknown>): Promise<Record<string, unknown>> {
  return stack.waitForLog((l) => !after.has(l) && l.msg === 'backend state changed' && l.backend === id && pred(String(l.to)));
}

/** `p`'s value, or null after `ms` (a bounded wait whose miss the test asserts on, with a clear message). */
async function orNull<T>(p: Promise<T>, ms: number): Promise<T | null> {
  try {
    return await within(p, ms, 'state change');
  } catch {
    return null;
  }
}

/**
 * Boot three loaded backends behind infergate, start one request every `intervalMs`, then for each backend:
 * run `restart` (which resolves when its model has loaded again), wait (bounded) until infergate put it back
 * READY and it served a user request again. Traffic stops after the last one.
 */
export async function rollingRestart(restart: (s: RecordingModelServer, stack: Stack) => Promise<void>, intervalMs = 20): Promise<RollingRun> {
  const servers = await Promise.all([0, 1, 2].map(() => new RecordingModelServer({ version: '2' }).start()));
  const stack = await startStack(`${ROLLING_POOL}    backends: [${servers.map((s) => s.url).join(', ')}]\n`);
  const close = async (): Promise<void> => {
    await stack.close();
    await Promise.all(servers.map((s) => s.close()));
  };
  try {
    await within(waitAllReady(stack), 5000, 'all backends READY');
    const client = new SteadyClient(stack.url, { intervalMs, maxRequests: 2000 });
    client.start();
    const windows: RollingRun['windows'] = [];
    for (const s of servers) {
      const backend = backendByUrl(stack, s.url);
      const id = backend.id;
      const seen = new Set<unknown>(stack.logs);
      const out = stateLine(stack, id, (to) => to !== 'READY', seen);
      const back = out.then((line) => stateLine(stack, id, (to) => to === 'READY', new Set(stack.logs.slice(0, stack.logs.indexOf(line) + 1))));
      await within(restart(s, stack), 10_000, `restart of ${id}`);
      const outLine = await orNull(out, 1000);
      const backLine = await orNull(back, 3000);
      // Log times are ISO-8601 with milliseconds.
      const at = (line: Record<string, unknown> | null): number | null => (typeof line?.time === 'string' ? Date.parse(line.time) : null);
      windows.push({ id, out: at(outLine), back: at(backLine), state: backend.state() });
      if (backLine === null) continue;
      // Back in rotation: it serves a user request again before the next restart begins.
      const served = deferred();
      s.onUserRequest = () => served.resolve();
      await orNull(served.promise, 3000);
      s.onUserRequest = null;
    }
    const outcomes = await client.stop();
    return { stack, servers, outcomes, client, windows, close };
  } catch (error) {
    await close();
    throw error;
  }
}

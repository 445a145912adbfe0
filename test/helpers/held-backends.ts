// Backends that hold every user request's answer until the test releases it (one release per request, in arrival
// order), and the pool that judges them overloaded at one in flight each (infergate's in-flight fallback).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { onePool } from '../e2e/support.js';
import { startBackend, type TestBackend } from './backend.js';

export interface HeldBackends {
  readonly servers: TestBackend[];
  /** One function per request held now: it answers "done <path>". */
  readonly release: Array<() => void>;
  /** The pool over them: queue 10 for 10 s, overloaded at one request in flight per server. */
  readonly config: string;
  /** Answers everything still held, then closes the servers. */
  close(): Promise<void>;
}

export async function startHeldBackends(count: number): Promise<HeldBackends> {
  const release: Array<() => void> = [];
  const held = (req: IncomingMessage, res: ServerResponse): void => {
    release.push(() => res.end(`done ${req.url}`));
  };
  const servers = await Promise.all(Array.from({ length: count }, () => startBackend(held)));
  return {
    servers,
    release,
    config: onePool(servers.map((s) => s.url), '    queue: { max: 10, timeout: 10s }\n    overload: { inflight: 1 }'),
    close: async () => {
      for (const r of release.splice(0)) r();
      await Promise.all(servers.map((s) => s.close()));
    },
  };
}

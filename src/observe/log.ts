// pino loggers: the event log and the access log (one JSON line per request, written asynchronously).
import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogConfig } from '../config/types.js';

export type { Logger };

export interface AccessRecord {
  requestId: string;
  method: string;
  path: string;
  status: number;
  pool: string;
  group: string;
  backend: string;
  attempts: number;
  upstreamMs: number;
  totalMs: number;
  bytesIn: number;
  bytesOut: number;
  error?: string;
}

export interface Loggers {
  log: Logger;
  /** Null when `log.accessLog: false`. */
  access: Logger | null;
}

/** `destination` is injected in tests; by default both go to stdout through an async sonic-boom. */
export function createLoggers(cfg: LogConfig, destination?: DestinationStream): Loggers {
  const dest = destination ?? pino.destination({ dest: 1, sync: false, minLength: 4096 });
  const log = pino({ level: cfg.level, base: { service: 'infergate' } }, dest);
  const access = cfg.accessLog ? log.child({ kind: 'access' }, { level: 'info' }) : null;
  return { log, access };
}

// pino loggers: the event log and the access log (one JSON line per request, written asynchronously).
import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogConfig } from '../config/types.js';

export type { Logger };

const FLUSH_EVERY_MS = 200;

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
  // Batched writes keep the access log cheap; the periodic flush bounds how late a line shows up on a quiet
  // balancer (without it, "infergate started" and state changes sat in the buffer until 4 KB had accumulated).
  const dest = destination ?? pino.destination({ dest: 1, sync: false, minLength: 4096, periodicFlush: FLUSH_EVERY_MS });
  const log = pino({ level: cfg.level, base: { service: 'infergate' } }, dest);
  return { log, access: accessLogger(log, cfg) };
}

/** Apply a reloaded `log:` section to the existing loggers (same destination). */
export function applyLogConfig(loggers: Loggers, cfg: LogConfig): void {
  loggers.log.level = cfg.level;
  if (cfg.accessLog !== (loggers.access !== null)) loggers.access = accessLogger(loggers.log, cfg);
}

// The access log has its own switch (`accessLog`), so it stays at info whatever `level` says.
function accessLogger(log: Logger, cfg: LogConfig): Logger | null {
  return cfg.accessLog ? log.child({ kind: 'access' }, { level: 'info' }) : null;
}

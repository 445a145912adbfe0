// The two logs and where they go: the event log (pino, "kind":"event": state changes, reloads, warnings) on stdout, and
// the access log (one line per request, observe/access-log.ts) on stdout, stderr or a file that SIGUSR1 reopens.
import pino, { type DestinationStream, type Logger } from 'pino';
import type { AccessLogConfig, LogConfig } from '../config/types.js';
import { AccessLog } from './access-log.js';
import { QueryRedactor } from './redact-query.js';

export type { Logger };

const FLUSH_EVERY_MS = 200;
const noop = (): void => undefined;

/** Streams tests inject in place of the process's stdout and stderr. */
export interface LogStreams {
  stdout?: DestinationStream;
  stderr?: DestinationStream;
}

/** A destination we opened (sonic-boom): flushed, reopened and closed by us. */
type OwnedDestination = ReturnType<typeof pino.destination>;
interface FileDestination {
  readonly path: string;
  readonly destination: OwnedDestination;
}

export class Loggers {
  /** The event log. */
  readonly log: Logger;
  /** Null when `log.accessLog: false` (read per request: a reload can switch it). */
  access: AccessLog | null = null;
  readonly #streams: LogStreams;
  readonly #stdout: DestinationStream;
  #stderr: DestinationStream | null = null;
  /** The access log's file, when it writes to one. */
  #file: FileDestination | null = null;
  #accessSpec = '';

  constructor(cfg: LogConfig, streams: LogStreams = {}) {
    this.#streams = streams;
    this.#stdout = streams.stdout ?? buffered(1);
    this.log = pino(
      {
        level: cfg.level,
        base: { service: 'infergate', kind: 'event' },
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: { level: (label) => ({ level: label }) },
      },
      this.#stdout,
    );
    this.#applyAccess(cfg);
  }

  /** A reloaded `log:` section: level at once; a changed access log (destination, format, redaction) from the next request on. */
  apply(cfg: LogConfig): void {
    this.log.level = cfg.level;
    this.#applyAccess(cfg);
  }

  /**
   * SIGUSR1, after logrotate renamed the file: lines buffered so far are written to the old (renamed) file, then the path
   * is opened again (a new file) and the old descriptor closed. Lines written meanwhile wait in the buffer and go to the
   * new file: none is lost. Resolves once later lines go to the new file.
   */
  reopen(): Promise<void> {
    const file = this.#file;
    if (file === null) return Promise.resolve();
    return new Promise((resolve) => {
      file.destination.flush((err) => {
        // Replaced by a reload meanwhile, or closed: nothing to reopen.
        if (err == null && this.#file === file) {
          file.destination.reopen();
          this.log.info({ file: file.path }, 'access log reopened');
        }
        resolve();
      });
    });
  }

  /** Push buffered lines out (shutdown). */
  flush(): void {
    this.log.flush();
    // A destination that failed to open has nothing to flush; shutdown goes on.
    try {
      this.#file?.destination.flush(noop);
    } catch {
      /* nothing buffered can be written */
    }
  }

  #applyAccess(cfg: LogConfig): void {
    const spec = cfg.accessLog === false ? 'off' : `${cfg.accessLog.to}\n${cfg.accessLog.format}\n${cfg.redactQuery.join(',')}`;
    if (spec === this.#accessSpec) return;
    this.#accessSpec = spec;
    const previousFile = this.#file;
    this.#file = null;
    this.access = cfg.accessLog === false ? null : new AccessLog(cfg.accessLog.format, this.#destination(cfg.accessLog, previousFile), new QueryRedactor(cfg.redactQuery));
    // A file no longer written to: what was buffered is written, then it is closed.
    if (previousFile !== null && previousFile !== this.#file) previousFile.destination.end();
  }

  #destination(a: AccessLogConfig, previousFile: FileDestination | null): DestinationStream {
    if (a.to === 'stdout') return this.#stdout;
    if (a.to === 'stderr') return (this.#stderr ??= this.#streams.stderr ?? buffered(2));
    this.#file = previousFile !== null && previousFile.path === a.to ? previousFile : { path: a.to, destination: openFile(a.to) };
    return this.#file.destination;
  }
}

/**
 * Batched asynchronous writes keep logging cheap; the periodic flush bounds how late a line shows up on a quiet
 * balancer (without it, "infergate started" and state changes sat in the buffer until 4 KB had accumulated).
 * pino flushes these synchronously when the process exits.
 */
function buffered(fd: number): OwnedDestination {
  return pino.destination({ dest: fd, sync: false, minLength: 4096, periodicFlush: FLUSH_EVERY_MS });
}

function openFile(path: string): OwnedDestination {
  return pino.destination({ dest: path, sync: false, minLength: 4096, periodicFlush: FLUSH_EVERY_MS, mkdir: true, append: true });
}

// The two logs and where they go: the event log (pino, "kind":"event": state changes, reloads, warnings) on stdout, and
// the access log (one line per request, observe/access-log.ts) on stdout, stderr or a file that SIGUSR1 reopens.
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogConfig } from '../config/types.js';
import { AccessLog } from './access-log.js';
import { QueryRedactor } from './redact-query.js';
import { TickBatch } from './tick-batch.js';

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
  /** What the access log writes to: lines of one event-loop turn joined, then handed to `destination`. */
  readonly batch: TickBatch;
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
    this.#stdout = streams.stdout ?? new TickBatch(buffered(1));
    this.log = pino(
      {
        level: cfg.level,
        base: { service: 'infergate', kind: 'event' },
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: { level: (label) => ({ level: label }) },
      },
      this.#stdout,
    );
    this.#applyAccess(cfg, true);
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
      file.batch.push();
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
    if (this.#stderr instanceof TickBatch) this.#stderr.push();
    try {
      this.#file?.batch.push();
      this.#file?.destination.flush(noop);
    } catch {
      /* nothing buffered can be written */
    }
  }

  /** At start, a file that cannot be opened is an error; on a reload, the error is logged and the old access log kept. */
  #applyAccess(cfg: LogConfig, atStart = false): void {
    const spec = cfg.accessLog === false ? 'off' : `${cfg.accessLog.to}\n${cfg.accessLog.format}\n${cfg.redactQuery.join(',')}`;
    if (spec === this.#accessSpec) return;
    const previousFile = this.#file;
    let destination: DestinationStream | null = null;
    let file: FileDestination | null = null;
    if (cfg.accessLog !== false) {
      const to = cfg.accessLog.to;
      if (to === 'stdout') destination = this.#stdout;
      else if (to === 'stderr') destination = this.#stderr ??= this.#streams.stderr ?? new TickBatch(buffered(2));
      else {
        try {
          if (previousFile !== null && previousFile.path === to) file = previousFile;
          else {
            const opened = this.#openFile(to);
            file = { path: to, destination: opened, batch: new TickBatch(opened) };
          }
        } catch (err) {
          const message = `cannot open the access log file ${to}: ${(err as Error).message}`;
          if (atStart) throw new Error(message);
          this.log.error({ file: to }, `${message}; keeping the previous access log`);
          return;
        }
        destination = file.batch;
      }
    }
    this.#accessSpec = spec;
    this.#file = file;
    this.access = cfg.accessLog === false ? null : new AccessLog(cfg.accessLog.format, destination!, new QueryRedactor(cfg.redactQuery));
    // A file no longer written to: what was buffered is written, then it is closed.
    if (previousFile !== null && previousFile !== file) {
      previousFile.batch.close();
      previousFile.destination.end();
    }
  }

  /** Opened (and its directory made) synchronously first, so that a bad path or permission fails now, with its reason. */
  #openFile(path: string): OwnedDestination {
    mkdirSync(dirname(path), { recursive: true });
    closeSync(openSync(path, 'a'));
    const destination = pino.destination({ dest: path, sync: false, minLength: 4096, periodicFlush: FLUSH_EVERY_MS, append: true });
    // A write or reopen that fails later (disk full, directory removed) is reported, never a crash.
    destination.on('error', (err: Error) => this.log.error({ file: path, error: err.message }, 'access log file error'));
    return destination;
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

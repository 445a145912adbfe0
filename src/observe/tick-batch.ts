// Log lines written during one event-loop turn reach the log's destination (sonic-boom) as one string at its end.
// sonic-boom measures the UTF-8 length of its whole pending buffer on every write (Buffer.byteLength of a string
// that grows to maxWrite, 16 KB): under load that costs several µs per access-log line, more than building the
// line. Joined per turn, it measures once per batch. Both logs sharing a destination go through one batch, so their
// lines keep their order; what sonic-boom does next (minLength, periodic flush, flush on exit) is unchanged.
import { writeSync } from 'node:fs';
import type { DestinationStream } from 'pino';

/** What the batch needs from sonic-boom (pino.destination()). */
export interface BatchTarget {
  write(text: string): boolean;
  flush(cb: (err?: Error | null) => void): void;
  flushSync(): void;
  /** sonic-boom's file descriptor (-1 until a file is open). */
  readonly fd?: number;
}

/** Beyond this many characters pending, hand them over at once: the batch's memory stays bounded. */
const MAX_PENDING_CHARS = 16 * 1024;

/** Live batches, for the exit hook; weak, so that a batch nobody writes to any more (tests, reloads) is collected. */
const live = new Set<WeakRef<TickBatch>>();
let exitHooked = false;

/**
 * pino's exit hook for sonic-boom (registered when the first destination was made, so before this one) has written
 * sonic-boom's buffer synchronously; the lines still here follow it, written synchronously as well. Handing them to
 * sonic-boom instead could start an asynchronous write that the exiting process never finishes.
 */
function flushAllAtExit(): void {
  for (const ref of live) ref.deref()?.writeSyncAtExit();
}

export class TickBatch implements DestinationStream {
  #parts: string[] = [];
  #chars = 0;
  #scheduled = false;
  readonly #ref: WeakRef<TickBatch>;

  constructor(readonly target: BatchTarget) {
    this.#ref = new WeakRef(this);
    // Forget batches already collected (many apps in one process: tests), so the set stays small.
    if (live.size >= 64) for (const ref of live) if (ref.deref() === undefined) live.delete(ref);
    live.add(this.#ref);
    if (!exitHooked) {
      exitHooked = true;
      process.once('exit', flushAllAtExit);
    }
  }

  write(line: string): boolean {
    this.#parts.push(line);
    this.#chars += line.length;
    if (this.#chars >= MAX_PENDING_CHARS) this.push();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      // unref: a pending batch never keeps the process alive; the exit hook writes it.
      setImmediate(this.#endOfTurn).unref();
    }
    return true;
  }

  /** Hand everything pending to the destination now (before its flush, reopen or end). */
  push(): void {
    const parts = this.#parts;
    if (parts.length === 0) return;
    this.#parts = [];
    this.#chars = 0;
    this.target.write(parts.length === 1 ? parts[0]! : parts.join(''));
  }

  flush(cb: (err?: Error | null) => void): void {
    this.push();
    this.target.flush(cb);
  }

  flushSync(): void {
    this.push();
    this.target.flushSync();
  }

  /** No more writes: pending lines go to the destination, and the exit hook forgets this batch. */
  close(): void {
    this.push();
    live.delete(this.#ref);
  }

  writeSyncAtExit(): void {
    const fd = this.target.fd;
    if (this.#parts.length === 0) return;
    try {
      if (typeof fd === 'number' && fd >= 0) {
        const text = this.#parts.join('');
        this.#parts = [];
        this.#chars = 0;
        writeSync(fd, text);
      } else this.flushSync();
    } catch {
      /* a destination that cannot be written at exit loses its tail, as it would without the batch */
    }
  }

  readonly #endOfTurn = (): void => {
    this.#scheduled = false;
    this.push();
  };
}

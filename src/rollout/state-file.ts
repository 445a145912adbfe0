// Rollout snapshots on disk: written atomically (temp file, fsync, rename) and validated when read back.

import { open, readFile, rename, unlink } from 'node:fs/promises';
import { snapshotFromJSON } from './snapshot.js';
import type { RolloutSnapshot } from './types.js';

/** The file's content. */
export interface RolloutStateFileContent {
  version: 1;
  rollouts: RolloutSnapshot[];
}

/** The state file exists but cannot be used; callers log it and start fresh. */
export class RolloutStateFileError extends Error {
  readonly code = 'ROLLOUT_STATE_INVALID';
  readonly file: string;
  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super(`${file}: ${message}`, options);
    this.name = 'RolloutStateFileError';
    this.file = file;
  }
}

let tmpSeq = 0;
/** Saves in flight per file, so two saves land in the order they were asked for. */
const writes = new Map<string, Promise<void>>();

/**
 * Writes every rollout's snapshot to `file` so that a reader sees either the old or the new file, never a
 * partial one: the data goes to a temp file in the same directory, is fsynced, then renamed over `file`.
 * Saves to one file are serialised (the content is captured at call time).
 */
export function saveState(file: string, states: readonly RolloutSnapshot[]): Promise<void> {
  const content: RolloutStateFileContent = { version: 1, rollouts: [...states] };
  const data = `${JSON.stringify(content, null, 2)}\n`;
  const previous = writes.get(file) ?? Promise.resolve();
  const mine = previous.catch(() => undefined).then(() => writeAtomically(file, data));
  writes.set(file, mine);
  const forget = (): void => {
    if (writes.get(file) === mine) writes.delete(file);
  };
  mine.then(forget, forget);
  return mine;
}

async function writeAtomically(file: string, data: string): Promise<void> {
  const tmp = `${file}.${process.pid}.${++tmpSeq}.tmp`;
  try {
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(data, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/** Reads the snapshots back; a missing file is no state ([]), an unreadable one throws RolloutStateFileError. */
export async function loadState(file: string): Promise<RolloutSnapshot[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new RolloutStateFileError(file, `cannot read: ${(err as Error).message}`, { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new RolloutStateFileError(file, `not JSON: ${(err as Error).message}`, { cause: err });
  }
  if (typeof parsed !== 'object' || parsed === null || (parsed as { version?: unknown }).version !== 1 || !Array.isArray((parsed as { rollouts?: unknown }).rollouts)) {
    throw new RolloutStateFileError(file, 'expected {"version":1,"rollouts":[...]}');
  }
  return (parsed as { rollouts: unknown[] }).rollouts.map((r, i) => {
    try {
      return snapshotFromJSON(r);
    } catch (err) {
      throw new RolloutStateFileError(file, `rollouts[${i}]: ${(err as Error).message}`, { cause: err });
    }
  });
}

// Log lines of one event-loop turn reach sonic-boom as one write, in order; flush and bounded memory push them at once.
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import pino from 'pino';
import { expect, test } from 'vitest';
import { TickBatch, type BatchTarget } from '../../src/observe/tick-batch.js';

function recorder(): BatchTarget & { writes: string[]; flushes: number; syncFlushes: number } {
  const t = {
    writes: [] as string[],
    flushes: 0,
    syncFlushes: 0,
    write(text: string) {
      t.writes.push(text);
      return true;
    },
    flush(cb: (err?: Error | null) => void) {
      t.flushes++;
      cb(null);
    },
    flushSync() {
      t.syncFlushes++;
    },
  };
  return t;
}

test('lines written in one turn go to the destination as one write at its end, in order', async () => {
  const target = recorder();
  const batch = new TickBatch(target);
  batch.write('a\n');
  batch.write('b\n');
  batch.write('c\n');
  expect(target.writes).toEqual([]);
  await nextTurn();
  expect(target.writes).toEqual(['a\nb\nc\n']);
  batch.write('d\n');
  await nextTurn();
  expect(target.writes).toEqual(['a\nb\nc\n', 'd\n']);
});

test('flush and flushSync hand pending lines over first', () => {
  const target = recorder();
  const batch = new TickBatch(target);
  batch.write('x\n');
  batch.flush(() => undefined);
  expect(target.writes).toEqual(['x\n']);
  expect(target.flushes).toBe(1);
  batch.write('y\n');
  batch.flushSync();
  expect(target.writes).toEqual(['x\n', 'y\n']);
  expect(target.syncFlushes).toBe(1);
});

test('more than 16 KB pending is handed over at once, not held until the end of the turn', () => {
  const target = recorder();
  const batch = new TickBatch(target);
  const line = `${'z'.repeat(999)}\n`;
  for (let i = 0; i < 17; i++) batch.write(line);
  expect(target.writes.length).toBe(1);
  expect(target.writes[0]!.length).toBe(17 * 1000);
});

test('nothing pending: flush writes nothing', async () => {
  const target = recorder();
  const batch = new TickBatch(target);
  batch.flush(() => undefined);
  await nextTurn();
  expect(target.writes).toEqual([]);
});

test('at exit, pending lines are written synchronously after what sonic-boom already wrote', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tick-batch-'));
  try {
    const file = join(dir, 'out.log');
    const fd = openSync(file, 'w');
    const sonic = pino.destination({ dest: fd, sync: false, minLength: 4096 });
    sonic.write('before\n');
    // What pino's exit hook does to sonic-boom first.
    sonic.flushSync();
    const batch = new TickBatch(sonic);
    for (let i = 0; i < 100; i++) batch.write(`line ${i} ${'x'.repeat(100)}\n`);
    batch.writeSyncAtExit();
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines.length).toBe(101);
    expect(lines[0]).toBe('before');
    expect(lines[100]).toMatch(/^line 99 /);
    closeSync(fd);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

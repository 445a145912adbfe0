// Log lines of one event-loop turn reach sonic-boom as one write, in order; flush and bounded memory push them at once.
import { setImmediate as nextTurn } from 'node:timers/promises';
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

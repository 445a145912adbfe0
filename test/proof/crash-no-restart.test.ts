// Proof, shipped defaults: a replica that crashes and stays down costs no client error after the first refused
// connection (the refused request itself goes to another backend); only requests in flight at the crash may fail.
import { afterEach, expect, test } from 'vitest';
import { failed, wrongModel } from './kserve-replica.js';
import { MODEL, restartInPlace, type Run } from './restart-in-place-support.js';

let run: Run | null = null;
afterEach(async () => {
  await run?.close();
  run = null;
});

test('a crash with no restart: no error after the first refused connection; the backend is out', async () => {
  run = await restartInPlace((r) => r.crash());
  const held = await run.stack.waitForLog((l) => l.msg === 'backend held for re-verification');
  const heldAt = Date.parse(held.time as string); // ISO-8601 with ms
  const late = failed(run.outcomes).filter((o) => o.sentAt >= heldAt);
  expect(late).toEqual([]);
  expect(wrongModel(run.outcomes, MODEL)).toEqual([]);
  expect(run.state).not.toBe('READY');
  // At most the requests in flight at the crash: none were slow, so very few.
  expect(failed(run.outcomes).length).toBeLessThanOrEqual(2);
});

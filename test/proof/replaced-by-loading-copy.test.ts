// Proof, shipped defaults: a replica replaced in place by a copy still loading its model (port open, 503 for 1.5 s)
// gets no user request until it has loaded and been admitted again: 0 errors, 0 wrong-model answers; READY again.
import { afterEach, expect, test } from 'vitest';
import { backendByUrl } from '../e2e/support.js';
import { failed, wrongModel } from './kserve-replica.js';
import { MODEL, restartInPlace, type Run } from './restart-in-place-support.js';

let run: Run | null = null;
afterEach(async () => {
  await run?.close();
  run = null;
});

test('replaced by a loading copy: 0 errors, 0 wrong-model answers, back READY and serving', async () => {
  let servedBefore = 0;
  run = await restartInPlace(async (r) => {
    await r.replace(MODEL, 300, 1500);
    servedBefore = r.served;
  }, { afterMs: 2000, until: (r, stack) => backendByUrl(stack, r.url).state() === 'READY' && r.served > servedBefore });
  expect(wrongModel(run.outcomes, MODEL)).toEqual([]);
  expect(failed(run.outcomes)).toEqual([]);
  expect(run.state).toBe('READY');
  expect(run.replicas[1]!.served).toBeGreaterThan(servedBefore);
});

// Proof, shipped defaults: a replica replaced in place (0.3 s) by another model version — or a corrupt copy (same
// version, other md5) — answers no user request: 0 wrong-model answers, 0 client errors at 40 POST/s; it ends MISMATCH.
import { afterEach, expect, test } from 'vitest';
import { backendByUrl } from '../e2e/support.js';
import { failed, wrongModel } from './kserve-replica.js';
import { MODEL, restartInPlace, type Run } from './restart-in-place-support.js';

let run: Run | null = null;
afterEach(async () => {
  await run?.close();
  run = null;
});

test('replaced by a wrong version: 0 wrong-model answers, 0 errors, MISMATCH', async () => {
  run = await restartInPlace((r) => r.replace({ ...MODEL, version: '2' }, 300));
  expect(run.outcomes.length).toBeGreaterThan(120);
  // The verdict is about the process after the signal (a new connection epoch), and names what answers now.
  const admission = backendByUrl(run.stack, run.replicas[1]!.url).admission!;
  expect(admission).toMatchObject({ ok: false, found: { version: '2' } });
  expect(admission.epoch).toBeGreaterThan(0);
  expect(wrongModel(run.outcomes, MODEL)).toEqual([]);
  expect(failed(run.outcomes)).toEqual([]);
  expect(run.state).toBe('MISMATCH');
});

test('replaced by a corrupt copy (same version, other md5): 0 wrong-model answers, 0 errors, MISMATCH', async () => {
  run = await restartInPlace((r) => r.replace({ ...MODEL, md5: '0123456789abcdef0123456789abcdef' }, 300));
  expect(run.outcomes.length).toBeGreaterThan(120);
  expect(wrongModel(run.outcomes, MODEL)).toEqual([]);
  expect(failed(run.outcomes)).toEqual([]);
  expect(run.state).toBe('MISMATCH');
});

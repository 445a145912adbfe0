// Issue-3 proof: a rolling restart where each backend refuses connections for 1 s, then reloads its model for 2 s; zero client errors.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { rollingRestart, type RollingRun } from './rolling.js';
import { describeErrors } from './steady-client.js';

let run: RollingRun;

beforeAll(async () => {
  run = await rollingRestart((s) => s.restart(1000, 2000));
}, 60_000);
afterAll(async () => run?.close());

test('each backend was taken out while down and came back READY', () => {
  expect(run.windows).toHaveLength(3);
  for (const w of run.windows) {
    expect(w.out, `${w.id} was never taken out of READY`).not.toBeNull();
    expect(w.back, `${w.id} not READY again within 3 s of its model loading (left ${w.state})`).not.toBeNull();
    expect(w.back! - w.out!).toBeGreaterThanOrEqual(2500);
  }
});

test('the client sees zero errors through the whole rolling restart', () => {
  expect(run.outcomes.length).toBeGreaterThan(300);
  const errors = run.client.errors();
  expect(errors, `${errors.length} of ${run.outcomes.length} requests failed:\n${describeErrors(errors)}`).toEqual([]);
});

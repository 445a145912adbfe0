// Issue-3 proof: a rolling restart where each backend keeps its port open while its model reloads for 2 s; zero client errors.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { rollingRestart, type RollingRun } from './rolling.js';
import { describeErrors } from './steady-client.js';

let run: RollingRun;

beforeAll(async () => {
  // "Port open, model reloading": /health and inference answer 503 for 2 s, as a model server mid-reload does.
  run = await rollingRestart((s) => s.reload(2000));
}, 60_000);
afterAll(async () => run?.close());

test('each backend was taken out while reloading and came back READY', () => {
  expect(run.windows).toHaveLength(3);
  for (const w of run.windows) {
    expect(w.out, `${w.id} was never taken out of READY`).not.toBeNull();
    expect(w.back, `${w.id} not READY again within 3 s of its model loading (left ${w.state})`).not.toBeNull();
    expect(w.back! - w.out!).toBeGreaterThanOrEqual(1500);
  }
});

test('the client sees zero errors through the whole rolling restart', () => {
  expect(run.outcomes.length).toBeGreaterThan(200);
  const errors = run.client.errors();
  expect(errors, `${errors.length} of ${run.outcomes.length} requests failed:\n${describeErrors(errors)}`).toEqual([]);
});

// Issue-3 proof, cooperative variant: each backend calls POST /admin/backends/{id}/unready before reloading its model for 2 s; zero client errors.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { backendByUrl } from '../e2e/support.js';
import { rollingRestart, type RollingRun } from './rolling.js';
import { describeErrors } from './steady-client.js';

let run: RollingRun;

beforeAll(async () => {
  // What a model server's reload hook does when it knows infergate: say "unready", finish the requests already
  // sent to it (a preStop grace), then unload the model.
  run = await rollingRestart(async (s, stack) => {
    const backend = backendByUrl(stack, s.url);
    const res = await fetch(`${stack.adminUrl}/admin/backends/${encodeURIComponent(backend.id)}/unready`, { method: 'POST' });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`push unready answered ${res.status}`);
    const deadline = Date.now() + 2000;
    while (backend.inflight > 0 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    await s.reload(2000);
  });
}, 60_000);
afterAll(async () => run?.close());

test('each backend left READY at once and came back READY after reloading', () => {
  expect(run.windows).toHaveLength(3);
  for (const w of run.windows) {
    expect(w.out, `${w.id} was never taken out of READY`).not.toBeNull();
    expect(w.back, `${w.id} not READY again within 3 s of its model loading (left ${w.state})`).not.toBeNull();
    expect(w.back! - w.out!).toBeGreaterThanOrEqual(1900);
  }
});

test('the client sees zero errors, and no user request met a reloading model', () => {
  expect(run.outcomes.length).toBeGreaterThan(200);
  const errors = run.client.errors();
  expect(errors, `${errors.length} of ${run.outcomes.length} requests failed:\n${describeErrors(errors)}`).toEqual([]);
  for (const s of run.servers) expect(s.userRequests().filter((u) => u.status !== 200)).toEqual([]);
});

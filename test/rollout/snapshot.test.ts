// Snapshot / restore: a rollout survives a config reload or restart with its step, weight, failures and history.
import { expect, it } from 'vitest';
import { snapshotFromJSON } from '../../src/rollout/snapshot.js';
import { harness, healthy } from './harness.js';

it('round-trips through JSON and keeps step, weight, failed checks, lastCheck and history', () => {
  const a = harness();
  a.ctl.canaryReady(true);
  a.intervals(1, 2_000, healthy()); // -> 25
  a.intervals(1, 2_000, healthy(60), healthy(20)); // one failed check at 25
  const json = JSON.stringify(a.ctl); // toJSON
  a.ctl.stop();

  const restored = snapshotFromJSON(JSON.parse(json));
  expect(restored).toEqual(a.ctl.snapshot());
  const b = harness({}, { restored });
  expect(b.ctl.view()).toMatchObject({ state: 'progressing', weight: 25, step: 1, failedChecks: 1 });
  expect(b.ctl.view().history).toEqual(a.ctl.view().history);
  expect(b.ctl.view().lastCheck).toEqual(a.ctl.view().lastCheck);
  expect(b.changes).toHaveLength(0); // no onChange from the constructor
  // The schedule continues: the next failure reaches the threshold of 2.
  expect(b.clock.pending()).toBe(1);
  b.intervals(1, 2_000, healthy(60), healthy(20));
  expect(b.ctl.view().state).toBe('rolled-back');
});

it('restores paused, promoted and rolled-back as they were', () => {
  for (const act of ['pause', 'promote', 'abort'] as const) {
    const a = harness();
    a.ctl.canaryReady(true);
    a.intervals(1, 2_000, healthy());
    a.ctl[act]();
    const b = harness({}, { restored: snapshotFromJSON(JSON.parse(JSON.stringify(a.ctl.snapshot()))) });
    expect(b.ctl.view().state).toBe(a.ctl.view().state);
    expect(b.ctl.weights()).toEqual(a.ctl.weights());
    expect(b.ctl.view().step).toBe(a.ctl.view().step);
    expect(b.clock.pending()).toBe(0);
  }
});

it('keeps the live weight when the steps change across a reload, re-deriving the step index', () => {
  const a = harness();
  a.ctl.canaryReady(true);
  a.intervals(2, 2_000, healthy()); // -> 50, step 2
  const b = harness({ steps: [20, 40, 60, 80, 100] }, { restored: a.ctl.snapshot() });
  expect(b.ctl.view()).toMatchObject({ weight: 50, step: 1 });
  b.intervals(1, 2_000, healthy());
  expect(b.ctl.weights().canary).toBe(60);
});

it('a pending rollout restarts from the new config (manual start added)', () => {
  const a = harness();
  const b = harness({ start: 'manual' }, { restored: a.ctl.snapshot() });
  b.ctl.canaryReady(true);
  expect(b.ctl.view().state).toBe('pending');
});

it('ignores a snapshot of another pool or group', () => {
  const a = harness();
  a.ctl.promote();
  const other = { ...a.ctl.snapshot(), group: 'canary-2' };
  const b = harness({}, { restored: other });
  expect(b.ctl.view().state).toBe('pending');
});

it('rejects malformed snapshots with a readable error', () => {
  expect(() => snapshotFromJSON({ version: 1, pool: 'mlp', group: 'canary', state: { name: 'flying' }, lastCheck: null, history: [] })).toThrow(/invalid rollout snapshot/);
  expect(() => snapshotFromJSON({ version: 2 })).toThrow(TypeError);
  expect(() =>
    snapshotFromJSON({ version: 1, pool: 'mlp', group: 'canary', state: { name: 'progressing', step: 0, weight: 150, failedChecks: 0 }, lastCheck: null, history: [] }),
  ).toThrow(/weight/);
});

it('reads a check stored by an older version (without its evidence) back as null, keeping the state', () => {
  const a = harness();
  a.ctl.canaryReady(true);
  a.intervals(1, 2_000, healthy());
  const json = JSON.parse(JSON.stringify(a.ctl.snapshot())) as { lastCheck: Record<string, unknown>; history: Array<{ check: Record<string, unknown> | null }> };
  for (const c of [json.lastCheck, json.history[1]!.check!]) {
    for (const k of ['alpha', 'errorRate', 'errors', 'latency', 'backendsOut']) delete c[k];
  }
  const restored = snapshotFromJSON(json);
  expect(restored.state).toEqual(a.ctl.snapshot().state);
  expect(restored.lastCheck).toBeNull();
  expect(restored.history.map((h) => h.check)).toEqual([null, null]);
  expect(restored.history.map((h) => h.weight)).toEqual([10, 25]);
});

it('keeps the backends out of service with a check', () => {
  const a = harness();
  a.ctl.canaryBackends([{ id: 'mlp.canary.127.0.0.1:9202', state: 'READY', reason: 'ready' }]);
  a.ctl.canaryBackends([{ id: 'mlp.canary.127.0.0.1:9202', state: 'EJECTED', reason: 'ejected' }]);
  a.intervals(1, 2_000, healthy());
  const restored = snapshotFromJSON(JSON.parse(JSON.stringify(a.ctl.snapshot())));
  expect(restored.lastCheck?.backendsOut).toEqual([{ id: 'mlp.canary.127.0.0.1:9202', state: 'EJECTED', reason: 'ejected', since: expect.any(String) }]);
  expect(restored).toEqual(a.ctl.snapshot());
});

// The rollout state file: save/load round trip, atomic replacement (temp file + rename), missing and corrupt files.
import { mkdtemp, readdir, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { loadState, RolloutStateFileError, saveState } from '../../src/rollout/state-file.js';
import { harness, healthy } from './harness.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'infergate-rollout-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function twoRollouts() {
  const a = harness();
  a.ctl.canaryReady(true);
  a.intervals(1, 2_000, healthy());
  const b = harness({}, { seed: 7 });
  b.ctl.canaryReady(true);
  b.ctl.abort();
  return [a.ctl.snapshot(), b.ctl.snapshot()];
}

it('saves and loads every rollout', async () => {
  const file = join(dir, 'rollouts.json');
  const states = twoRollouts();
  await saveState(file, states);
  expect(await loadState(file)).toEqual(states);
  const restored = harness({}, { restored: (await loadState(file))[0]! });
  expect(restored.ctl.view()).toMatchObject({ state: 'progressing', weight: 25, step: 1 });
});

it('replaces the file by rename (new inode) and leaves no temp file behind', async () => {
  const file = join(dir, 'rollouts.json');
  await saveState(file, []);
  const before = await stat(file);
  await saveState(file, twoRollouts());
  const after = await stat(file);
  expect(after.ino).not.toBe(before.ino);
  expect(await readdir(dir)).toEqual(['rollouts.json']);
});

it('keeps saves to one file in call order', async () => {
  const file = join(dir, 'rollouts.json');
  const states = twoRollouts();
  await Promise.all([saveState(file, []), saveState(file, [states[0]!]), saveState(file, states)]);
  expect(await loadState(file)).toHaveLength(2);
});

it('on a failed write keeps the old content and removes the temp file', async () => {
  const target = join(dir, 'is-a-dir');
  await mkdir(target);
  await writeFile(join(target, 'x'), 'keep');
  await expect(saveState(target, twoRollouts())).rejects.toThrow();
  expect((await readdir(dir)).sort()).toEqual(['is-a-dir']);
  expect(await readdir(target)).toEqual(['x']);
});

it('a missing file is no state', async () => {
  expect(await loadState(join(dir, 'none.json'))).toEqual([]);
});

it('a corrupt or foreign file throws RolloutStateFileError naming the file', async () => {
  const file = join(dir, 'rollouts.json');
  await writeFile(file, '{"version":1,"rollouts":[{"half":');
  await expect(loadState(file)).rejects.toThrow(RolloutStateFileError);
  await expect(loadState(file)).rejects.toThrow(/rollouts\.json: not JSON/);
  await writeFile(file, '{"version":1,"rollouts":[{"version":1}]}');
  await expect(loadState(file)).rejects.toMatchObject({ code: 'ROLLOUT_STATE_INVALID', message: expect.stringMatching(/rollouts\[0\]/) });
  await writeFile(file, '[]');
  await expect(loadState(file)).rejects.toThrow(/expected/);
});

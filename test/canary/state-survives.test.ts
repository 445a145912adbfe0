// Rollout state survives a config reload (step and weight kept) and a restart with `stateFile` (resumed from the file, written atomically).
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { waitAllReady } from '../e2e/support.js';
import { ManualClock, seededRandom } from '../helpers/manual-clock.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { closeAll, configFor, namedBackend, ok, PASSING, rollout, traffic, twoGroups, until, type NamedBackend } from './support.js';

let stacks: Stack[] = [];
let servers: NamedBackend[] = [];
let dir: string | null = null;
afterEach(async () => {
  for (const s of stacks) await s.close();
  await closeAll(undefined, servers);
  if (dir !== null) await rm(dir, { recursive: true, force: true });
  stacks = [];
  servers = [];
  dir = null;
});

const ROLLOUT = `        rollout: { steps: [10, 25, 50, 100], interval: 30s, minRequests: ${PASSING} }`;

async function backends(): Promise<[NamedBackend, NamedBackend]> {
  servers = await Promise.all(['s1', 'c1'].map((n) => namedBackend(n, ok)));
  return servers as [NamedBackend, NamedBackend];
}

async function boot(yaml: string, clock: ManualClock): Promise<Stack> {
  const s = await startStack(yaml, { deps: { clock, random: seededRandom(13) } });
  stacks.push(s);
  await waitAllReady(s);
  return s;
}

/** Enough traffic for a conclusive check, then one interval. */
async function passOneCheck(s: Stack, clock: ManualClock, s1: NamedBackend, c1: NamedBackend): Promise<void> {
  const [c0, s0] = [c1.count(), s1.count()];
  await until(s, () => c1.count() - c0 >= PASSING && s1.count() - s0 >= PASSING);
  clock.advance(30_000);
}

function canaryShare(answers: Array<{ by: string }>): number {
  return answers.filter((a) => a.by === 'c1').length / answers.length;
}

test('a reload that does not touch the canary keeps its step and weight, and the schedule carries on from there', async () => {
  const [s1, c1] = await backends();
  const clock = new ManualClock();
  const s = await boot(twoGroups({ stable: [s1], canary: [c1], canaryExtra: ROLLOUT }), clock);
  await passOneCheck(s, clock, s1, c1);
  expect(await rollout(s)).toMatchObject({ state: 'progressing', weight: 25, step: 1 });

  s.app.reload(configFor(s, twoGroups({ stable: [s1], canary: [c1], canaryExtra: ROLLOUT, extra: '    outlier: false\n    maxBodySize: 1mb' })));
  const r = await rollout(s);
  expect(r).toMatchObject({ state: 'progressing', weight: 25, step: 1 });
  // The weight is live on the new configuration's groups, not only in the view.
  const share = canaryShare(await traffic(s, 400, { concurrency: 8 }));
  expect(share).toBeGreaterThan(0.17);
  expect(share).toBeLessThan(0.33);
  await passOneCheck(s, clock, s1, c1);
  expect(await rollout(s)).toMatchObject({ state: 'progressing', weight: 50, step: 2 });
});

test('a reload that turns a pending manual rollout into an automatic one starts it, and the canary gets its traffic', async () => {
  const [s1, c1] = await backends();
  const clock = new ManualClock();
  const manual = '        rollout: { start: manual, steps: [10, 25, 50, 100], interval: 30s, minRequests: 10 }';
  const s = await boot(twoGroups({ stable: [s1], canary: [c1], canaryExtra: manual }), clock);
  expect(await rollout(s)).toMatchObject({ state: 'pending', weight: 0 });
  s.app.reload(configFor(s, twoGroups({ stable: [s1], canary: [c1], canaryExtra: ROLLOUT })));
  expect(await rollout(s)).toMatchObject({ state: 'progressing', weight: 10 });
  const share = canaryShare(await traffic(s, 400, { concurrency: 8 }));
  expect(share).toBeGreaterThan(0.05);
  expect(share).toBeLessThan(0.15);
});

test('with stateFile, a new app on the same file resumes at the saved step and weight; the file is replaced atomically (no temp file left)', async () => {
  const [s1, c1] = await backends();
  dir = await mkdtemp(join(tmpdir(), 'infergate-canary-'));
  const file = join(dir, 'rollouts.json');
  const yaml = twoGroups({ stable: [s1], canary: [c1], canaryExtra: ROLLOUT, top: `stateFile: ${file}` });
  const clock = new ManualClock();
  const first = await boot(yaml, clock);
  await passOneCheck(first, clock, s1, c1);
  expect(await rollout(first)).toMatchObject({ state: 'progressing', weight: 25, step: 1 });
  await first.app.rollouts.flush();
  await first.close();

  const saved = JSON.parse(await readFile(file, 'utf8')) as { version: number; rollouts: Array<{ pool: string; group: string; state: { name: string; weight: number; step: number } }> };
  expect(saved.version).toBe(1);
  expect(saved.rollouts).toHaveLength(1);
  expect(saved.rollouts[0]).toMatchObject({ pool: 'p', group: 'canary', state: { name: 'progressing', weight: 25, step: 1 } });
  expect((await readdir(dir)).sort()).toEqual(['rollouts.json']);

  const clock2 = new ManualClock();
  const second = await boot(yaml, clock2);
  const r = await rollout(second);
  expect(r).toMatchObject({ state: 'progressing', weight: 25, step: 1 });
  expect(r.history.map((h) => h.weight)).toEqual([10, 25]);
  const share = canaryShare(await traffic(second, 400, { concurrency: 8 }));
  expect(share).toBeGreaterThan(0.17);
  expect(share).toBeLessThan(0.33);
  await passOneCheck(second, clock2, s1, c1);
  expect(await rollout(second)).toMatchObject({ state: 'progressing', weight: 50 });
  await second.app.rollouts.flush();
  expect((await readdir(dir)).sort()).toEqual(['rollouts.json']);
  expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ rollouts: [{ state: { name: 'progressing', weight: 50 } }] });
});

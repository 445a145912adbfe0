// PeriodicTask on the injected clock: first run at once, interval +- jitter after each run ends, never overlapping.
import { expect, test } from 'vitest';
import { PeriodicTask } from '../../src/schedule/periodic-task.js';
import { ManualClock, seededRandom } from '../helpers/manual-clock.js';

/** A task whose runs the test finishes by hand, so "a run in progress" lasts as long as the test wants. */
function manualTask(): { runs: number; inProgress: boolean; finish(): Promise<void>; task: () => Promise<void> } {
  let release: (() => void) | null = null;
  const t = {
    runs: 0,
    get inProgress(): boolean {
      return release !== null;
    },
    async finish(): Promise<void> {
      const r = release;
      if (r === null) throw new Error('no run in progress');
      release = null;
      r();
      await settle();
    },
    task: (): Promise<void> => {
      t.runs++;
      return new Promise<void>((resolve) => {
        release = resolve;
      });
    },
  };
  return t;
}

/** Lets the task's completion reach the loop (a few promise hops). */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

/** A task that finishes at once, counting its runs. */
function instantTask(): { runs: number; task: () => Promise<void> } {
  const t = { runs: 0, task: async (): Promise<void> => void t.runs++ };
  return t;
}

/** Delays of every timer the loop sets. */
function recordDelays(clock: ManualClock): number[] {
  const delays: number[] = [];
  const setTimer = clock.setTimer.bind(clock);
  clock.setTimer = (ms, fn) => {
    delays.push(ms);
    return setTimer(ms, fn);
  };
  return delays;
}

test('the first run starts at once on start(), the next one interval after it finished', async () => {
  const clock = new ManualClock();
  const t = instantTask();
  const loop = new PeriodicTask(1000, 0, { clock, random: () => 0.9 }, t.task);
  expect(loop.started).toBe(false);
  loop.start();
  expect(loop.started).toBe(true);
  expect(t.runs).toBe(1);
  await settle();
  clock.advance(999);
  await settle();
  expect(t.runs).toBe(1);
  clock.advance(1);
  await settle();
  expect(t.runs).toBe(2);
});

test('start() while started does not start a second run', async () => {
  const clock = new ManualClock();
  const t = manualTask();
  const loop = new PeriodicTask(1000, 0, { clock, random: () => 0.5 }, t.task);
  loop.start();
  loop.start();
  expect(t.runs).toBe(1);
  await t.finish();
  expect(clock.pending()).toBe(1);
});

test('no run is scheduled while one is in progress, however long it takes', async () => {
  const clock = new ManualClock();
  const t = manualTask();
  const loop = new PeriodicTask(100, 0, { clock, random: () => 0.5 }, t.task);
  loop.start();
  for (let i = 0; i < 10; i++) clock.advance(100);
  await settle();
  expect(t.runs).toBe(1);
  expect(clock.pending()).toBe(0);
  await t.finish();
  expect(clock.pending()).toBe(1);
  clock.advance(100);
  expect(t.runs).toBe(2);
  expect(t.inProgress).toBe(true);
});

test('with jitter 0 every delay is exactly the interval', async () => {
  const clock = new ManualClock();
  const delays = recordDelays(clock);
  const t = instantTask();
  const loop = new PeriodicTask(10_000, 0, { clock, random: seededRandom(7) }, t.task);
  loop.start();
  for (let i = 0; i < 4; i++) {
    await settle();
    clock.advance(10_000);
  }
  await settle();
  expect(delays).toEqual([10_000, 10_000, 10_000, 10_000, 10_000]);
});

test('with jitter 0.2 the delay spans interval -20% (random 0) to +20% (random 1)', async () => {
  for (const [random, expected] of [[0, 8_000], [0.5, 10_000], [0.75, 11_000], [1, 12_000]] as const) {
    const clock = new ManualClock();
    const delays = recordDelays(clock);
    const loop = new PeriodicTask(10_000, 0.2, { clock, random: () => random }, instantTask().task);
    loop.start();
    await settle();
    expect(delays).toEqual([expected]);
  }
});

test('seeded jitter spreads the delays within the bounds', async () => {
  const clock = new ManualClock();
  const delays = recordDelays(clock);
  const loop = new PeriodicTask(10_000, 0.2, { clock, random: seededRandom(42) }, instantTask().task);
  loop.start();
  for (let i = 0; i < 30; i++) {
    await settle();
    clock.advance(12_000);
  }
  expect(delays.length).toBeGreaterThanOrEqual(30);
  for (const d of delays) {
    expect(d).toBeGreaterThanOrEqual(8_000);
    expect(d).toBeLessThanOrEqual(12_000);
    expect(Number.isInteger(d)).toBe(true);
  }
  expect(new Set(delays).size).toBeGreaterThan(20);
});

test('the delay is at least 1 ms (interval 0 does not spin on a zero timer)', async () => {
  const clock = new ManualClock();
  const delays = recordDelays(clock);
  const loop = new PeriodicTask(0, 0, { clock, random: () => 0.5 }, instantTask().task);
  loop.start();
  await settle();
  loop.stop();
  expect(delays).toEqual([1]);
});

test('now() runs at once and replaces the pending timer', async () => {
  const clock = new ManualClock();
  const t = instantTask();
  const loop = new PeriodicTask(1000, 0, { clock, random: () => 0.5 }, t.task);
  loop.start();
  await settle();
  clock.advance(400);
  loop.now();
  expect(t.runs).toBe(2);
  await settle();
  expect(clock.pending()).toBe(1);
  // The schedule restarts from the early run: 1000 ms after it, not after the first one.
  clock.advance(600);
  await settle();
  expect(t.runs).toBe(2);
  clock.advance(400);
  await settle();
  expect(t.runs).toBe(3);
});

test('now() does nothing before start(); during a run it runs once more right after it (its answer may predate the reason)', async () => {
  const clock = new ManualClock();
  const t = manualTask();
  const loop = new PeriodicTask(1000, 0, { clock, random: () => 0.5 }, t.task);
  loop.now();
  expect(t.runs).toBe(0);
  loop.start();
  loop.now();
  loop.now();
  expect(t.runs).toBe(1);
  await t.finish();
  // One more run at once (however many now() calls came during the first), then the interval.
  expect(t.runs).toBe(2);
  expect(clock.pending()).toBe(0);
  await t.finish();
  expect(t.runs).toBe(2);
  expect(clock.pending()).toBe(1);
});

test('stop() cancels the next run; a run in progress ends without scheduling another; start() again runs at once', async () => {
  const clock = new ManualClock();
  const t = manualTask();
  const loop = new PeriodicTask(1000, 0, { clock, random: () => 0.5 }, t.task);
  loop.start();
  await t.finish();
  expect(clock.pending()).toBe(1);
  loop.stop();
  expect(loop.started).toBe(false);
  expect(clock.pending()).toBe(0);
  clock.advance(5000);
  expect(t.runs).toBe(1);

  loop.start();
  expect(t.runs).toBe(2);
  loop.stop();
  await t.finish();
  expect(clock.pending()).toBe(0);
  loop.now();
  expect(t.runs).toBe(2);
});

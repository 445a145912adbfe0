// The fake clock every time-driven test relies on: timers fire in due order (ties in the order set), timers set
// by timers fire within the same advance, cancelled ones never, and every timer set is recorded.
import { expect, test } from 'vitest';
import { ManualClock } from './manual-clock.js';

test('advance fires due timers in order of due time, ties in the order they were set, each at its due time', () => {
  const clock = new ManualClock();
  const fired: string[] = [];
  clock.setTimer(30, () => fired.push(`c@${clock.now()}`));
  clock.setTimer(10, () => fired.push(`a@${clock.now()}`));
  clock.setTimer(10, () => fired.push(`b@${clock.now()}`));
  clock.setTimer(31, () => fired.push('late'));
  clock.advance(30);
  expect(fired).toEqual(['a@10', 'b@10', 'c@30']);
  expect(clock.now()).toBe(30);
  expect(clock.pending()).toBe(1);
  clock.advance(1);
  expect(fired.at(-1)).toBe('late');
  expect(clock.pending()).toBe(0);
});

test('a timer set by a timer fires in the same advance when it falls due before the end, not otherwise', () => {
  const clock = new ManualClock();
  const fired: number[] = [];
  const every = (ms: number): void => {
    clock.setTimer(ms, () => {
      fired.push(clock.now());
      every(ms);
    });
  };
  every(100);
  clock.advance(350);
  expect(fired).toEqual([100, 200, 300]);
  expect(clock.now()).toBe(350);
  clock.advance(50);
  expect(fired).toEqual([100, 200, 300, 400]);
});

test('a cancelled timer never fires; wallNow follows now', () => {
  const clock = new ManualClock();
  let fired = false;
  clock.setTimer(5, () => (fired = true)).cancel();
  clock.advance(10);
  expect(fired).toBe(false);
  expect(clock.wallNow()).toBe(1_700_000_000_010);
});

test('every timer set is recorded; waitFor resolves once enough matching timers were set', async () => {
  const clock = new ManualClock();
  let resolved = false;
  const waiting = clock.waitFor(1000, 2).then(() => (resolved = true));
  clock.setTimer(1000, () => {});
  clock.setTimer(5, () => {});
  await Promise.resolve();
  expect(resolved).toBe(false);
  clock.setTimer(1000, () => {});
  await waiting;
  expect(resolved).toBe(true);
  expect(clock.delays).toEqual([1000, 5, 1000]);
  expect(clock.count(1000)).toBe(2);
  expect(clock.count((ms) => ms < 1000)).toBe(1);
});

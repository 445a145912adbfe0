// body-pace.ts: the longest gap between two reads of a request body, and the minimum average rate after the first gap.
import { expect, test } from 'vitest';
import type { RequestBodyConfig } from '../../src/config/types.js';
import { BodyPace } from '../../src/proxy/body-pace.js';
import { ManualClock } from '../helpers/manual-clock.js';

const cfg = (idleMs: number, minRateBytes: number): RequestBodyConfig => ({ bufferBytes: 1 << 20, bufferTotalBytes: 1 << 27, idleMs, minRateBytes });

function rig(idleMs = 10_000, minRate = 1024, waitingOnUs = () => false) {
  const clock = new ManualClock();
  const fired: number[] = [];
  const pace = new BodyPace(cfg(idleMs, minRate), clock, () => fired.push(clock.now()), waitingOnUs);
  return { clock, fired, pace };
}

test('a client that sends nothing is late after idle', () => {
  const { clock, fired, pace } = rig();
  pace.start();
  clock.advance(9_999);
  expect(fired).toEqual([]);
  clock.advance(1);
  expect(fired).toEqual([10_000]);
});

test('without a rate check, each read restarts the idle gap', () => {
  const { clock, fired, pace } = rig(10_000, 0);
  pace.start();
  for (let i = 0; i < 10; i++) {
    clock.advance(9_000);
    pace.progress(1);
  }
  expect(fired).toEqual([]);
  clock.advance(10_000);
  expect(fired).toEqual([100_000]);
});

test('1 byte/s passes the idle check but not the 1 KiB/s rate: cut just after the first idle window', () => {
  const { clock, fired, pace } = rig();
  pace.start();
  for (let i = 0; i < 10 && fired.length === 0; i++) {
    clock.advance(1_000);
    pace.progress(1);
  }
  expect(fired).toEqual([]);
  clock.advance(100);
  // Deadline: start + 10 s + 10 bytes / (1024 bytes/s) = 10 009.8 ms.
  expect(fired).toEqual([10_010]);
});

test('a client at 50 KB/s for a minute is never late; a stall after it is cut one idle gap later', () => {
  const { clock, fired, pace } = rig();
  pace.start();
  for (let i = 0; i < 600; i++) {
    clock.advance(100);
    pace.progress(5_000);
  }
  expect(fired).toEqual([]);
  clock.advance(10_000);
  expect(fired).toEqual([70_000]);
});

test('data waiting on our side (upstream backpressure) is not the client\'s delay', () => {
  let waiting = true;
  const { clock, fired, pace } = rig(10_000, 1024, () => waiting);
  pace.start();
  clock.advance(60_000);
  expect(fired).toEqual([]);
  waiting = false;
  clock.advance(10_000);
  expect(fired).toHaveLength(1);
});

test('stop() ends the watch: a complete body is never late', () => {
  const { clock, fired, pace } = rig();
  pace.start();
  pace.progress(100);
  pace.stop();
  clock.advance(60_000);
  expect(fired).toEqual([]);
  expect(clock.pending()).toBe(0);
});

// The wait queue: FIFO hand-out, bound, timeout on the injected clock, removal of aborted waiters.
import { describe, expect, it } from 'vitest';
import { WaitQueue, type Waiter } from '../../src/backends/queue.js';
import { ManualClock } from '../helpers/manual-clock.js';

class Recorder implements Waiter {
  events: string[] = [];
  constructor(readonly name: string, readonly log: string[]) {}
  onSlot(): void {
    this.log.push(`${this.name}:slot`);
  }
  onQueueTimeout(): void {
    this.log.push(`${this.name}:timeout`);
  }
}

describe('WaitQueue', () => {
  it('hands capacity out in arrival order, only while it is available', () => {
    const clock = new ManualClock();
    const log: string[] = [];
    const q = new WaitQueue(10, 1000, clock);
    const [a, b, c] = ['a', 'b', 'c'].map((n) => new Recorder(n, log));
    q.enqueue(a!);
    q.enqueue(b!);
    q.enqueue(c!);
    let slots = 2;
    q.wake(() => slots-- > 0);
    expect(log).toEqual(['a:slot', 'b:slot']);
    expect(q.length).toBe(1);
    q.wake(() => true);
    expect(log).toEqual(['a:slot', 'b:slot', 'c:slot']);
    expect(q.length).toBe(0);
  });

  it('a waiter that cannot use the free slot keeps its place and deadline; the ones behind it get the slot', () => {
    const clock = new ManualClock();
    const log: string[] = [];
    const q = new WaitQueue(10, 1000, clock);
    let free = 1;
    // Pinned to a group whose backend is still busy: it looks, cannot take the slot, and queues itself again.
    const pinned: Waiter = { onSlot: () => { log.push('pinned:slot'); q.enqueue(pinned); }, onQueueTimeout: () => log.push('pinned:timeout') };
    const plain: Waiter = { onSlot: () => { log.push('plain:slot'); free--; }, onQueueTimeout: () => log.push('plain:timeout') };
    q.enqueue(pinned);
    clock.advance(400);
    q.enqueue(plain);
    q.wake(() => free > 0);
    expect(log).toEqual(['pinned:slot', 'plain:slot']);
    expect(q.length).toBe(1);
    // Still first in line, with its original deadline (1000 ms from its arrival, not from the wake).
    clock.advance(600);
    expect(log).toEqual(['pinned:slot', 'plain:slot', 'pinned:timeout']);
  });

  it('refuses beyond max', () => {
    const q = new WaitQueue(2, 1000, new ManualClock());
    const log: string[] = [];
    expect(q.enqueue(new Recorder('a', log))).toBe(true);
    expect(q.enqueue(new Recorder('b', log))).toBe(true);
    expect(q.enqueue(new Recorder('c', log))).toBe(false);
  });

  it('times a waiter out after timeoutMs and not before; a woken waiter never times out', () => {
    const clock = new ManualClock();
    const log: string[] = [];
    const q = new WaitQueue(10, 1000, clock);
    const a = new Recorder('a', log);
    const b = new Recorder('b', log);
    q.enqueue(a);
    clock.advance(500);
    q.enqueue(b);
    clock.advance(499);
    expect(log).toEqual([]);
    clock.advance(1);
    expect(log).toEqual(['a:timeout']);
    q.wake(() => true);
    clock.advance(10_000);
    expect(log).toEqual(['a:timeout', 'b:slot']);
    expect(clock.pending()).toBe(0);
  });

  it('forgets a removed waiter (client gone) and its timer', () => {
    const clock = new ManualClock();
    const log: string[] = [];
    const q = new WaitQueue(10, 1000, clock);
    const a = new Recorder('a', log);
    q.enqueue(a);
    q.remove(a);
    clock.advance(5000);
    q.wake(() => true);
    expect(log).toEqual([]);
    expect(q.length).toBe(0);
  });

  it('reports length and wait time', () => {
    const clock = new ManualClock();
    const lengths: number[] = [];
    const waits: number[] = [];
    const q = new WaitQueue(10, 1000, clock, { length: (n) => lengths.push(n), waited: (s) => waits.push(s) });
    const a = new Recorder('a', []);
    q.enqueue(a);
    clock.advance(250);
    q.wake(() => true);
    expect(lengths).toEqual([1, 0]);
    expect(waits).toEqual([0.25]);
  });

  it('flush answers every waiter with a timeout (shutdown)', () => {
    const log: string[] = [];
    const q = new WaitQueue(10, 1000, new ManualClock());
    q.enqueue(new Recorder('a', log));
    q.enqueue(new Recorder('b', log));
    q.flush();
    expect(log).toEqual(['a:timeout', 'b:timeout']);
  });
});

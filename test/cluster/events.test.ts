// EventStream: synchronous, in subscription order, unsubscribe stops delivery (also during a publish).
import { expect, it } from 'vitest';
import { EventStream } from '../../src/cluster/events.js';

it('delivers every event to every subscriber, in order, synchronously', () => {
  const s = new EventStream<number>();
  const seen: string[] = [];
  s.subscribe((n) => seen.push(`a${n}`));
  const off = s.subscribe((n) => seen.push(`b${n}`));
  s.publish(1);
  off();
  s.publish(2);
  expect(seen).toEqual(['a1', 'b1', 'a2']);
});

it('a subscriber removed while an event is delivered still gets that event, not the next', () => {
  const s = new EventStream<number>();
  const seen: number[] = [];
  let off = (): void => {};
  s.subscribe(() => off());
  off = s.subscribe((n) => seen.push(n));
  s.publish(1);
  s.publish(2);
  expect(seen).toEqual([1]);
});

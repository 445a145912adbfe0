// affinity/lru.ts: bounded, least recently used forgotten first, matched() counts the remembered head.
import { describe, expect, it } from 'vitest';
import { HashLru } from '../../src/affinity/lru.js';

describe('HashLru', () => {
  it('never holds more than its capacity; the least recently touched goes first', () => {
    const l = new HashLru(3);
    for (const h of [1, 2, 3]) l.touch(h);
    l.touch(1); // 2 is now the least recent
    l.touch(4);
    expect(l.size).toBe(3);
    expect([1, 2, 3, 4].map((h) => l.has(h))).toEqual([true, false, true, true]);
    for (let h = 100; h < 1000; h++) l.touch(h);
    expect(l.size).toBe(3);
  });

  it('matched: the remembered run from the first hash', () => {
    const l = new HashLru(10);
    for (const h of [10, 11, 12]) l.touch(h);
    expect(l.matched([10, 11, 12, 13])).toBe(3);
    expect(l.matched([10, 99, 12])).toBe(1);
    expect(l.matched([99, 10])).toBe(0);
    expect(l.matched([])).toBe(0);
  });
});

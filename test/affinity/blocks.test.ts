// affinity/blocks.ts: chained block hashes: a shared prefix shares exactly its whole blocks' hashes.
import { describe, expect, it } from 'vitest';
import { blockHashes } from '../../src/affinity/blocks.js';

const B = 8;

describe('blockHashes', () => {
  it('whole blocks only, at most maxBlocks', () => {
    expect(blockHashes('m', 'x'.repeat(7), B, 10)).toEqual([]);
    expect(blockHashes('m', 'x'.repeat(8), B, 10)).toHaveLength(1);
    expect(blockHashes('m', 'x'.repeat(23), B, 10)).toHaveLength(2);
    expect(blockHashes('m', 'x'.repeat(800), B, 10)).toHaveLength(10);
  });

  it('same text, same hashes; every hash a safe integer', () => {
    const a = blockHashes('m', 'the quick brown fox jumps over it', B, 10);
    expect(blockHashes('m', 'the quick brown fox jumps over it', B, 10)).toEqual(a);
    for (const h of a) expect(Number.isSafeInteger(h) && h >= 0).toBe(true);
  });

  it('a shared prefix shares the hashes of its whole blocks, and no more', () => {
    const shared = 'SYSTEM: you are a helpful bot. '; // 31 chars: 3 whole blocks
    const a = blockHashes('m', `${shared}question one, please answer`, B, 20);
    const b = blockHashes('m', `${shared}another question entirely`, B, 20);
    let common = 0;
    while (common < a.length && a[common] === b[common]) common++;
    expect(common).toBe(3);
  });

  it('chained: an equal block after a different one hashes differently', () => {
    const a = blockHashes('m', 'AAAAAAAAsamesame', B, 10);
    const b = blockHashes('m', 'BBBBBBBBsamesame', B, 10);
    expect(a[1]).not.toBe(b[1]);
  });

  it('another model, other hashes for the same prompt', () => {
    expect(blockHashes('a', 'x'.repeat(16), B, 10)[0]).not.toBe(blockHashes('b', 'x'.repeat(16), B, 10)[0]);
  });

  it('characters beyond Latin-1 count (both bytes of a code unit are hashed)', () => {
    expect(blockHashes('m', 'ĀĀĀĀĀĀĀĀ', B, 1)).not.toEqual(blockHashes('m', 'ȀȀȀȀȀȀȀȀ', B, 1));
  });

  it('a difference in the second code unit of a pair, or in a high byte, changes the hash', () => {
    const base = blockHashes('m', 'abcdefgh', B, 1)[0];
    expect(blockHashes('m', 'aXcdefgh', B, 1)[0]).not.toBe(base);
    expect(blockHashes('m', 'a\u0162cdefgh', B, 1)[0]).not.toBe(blockHashes('m', 'a\u0262cdefgh', B, 1)[0]);
    // Differences only at odd positions: no collisions among many.
    const seen = new Set<number>();
    for (let i = 0; i < 5000; i++) seen.add(blockHashes('m', `a${String.fromCharCode(i)}b${String.fromCharCode(i >> 3)}cdef`, B, 1)[0]!);
    expect(seen.size).toBe(5000);
  });

  it('few collisions over many distinct prompts', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 20_000; i++) seen.add(blockHashes('m', `#${i}`.padEnd(B, '.'), B, 1)[0]!);
    expect(seen.size).toBe(20_000);
  });
});

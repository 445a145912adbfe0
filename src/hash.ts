// murmur3's 32-bit finaliser, shared by the hashes that pick backends (sticky groups, prefix blocks, rendezvous).

/** Every output bit depends on every input bit; an unsigned 32-bit result. */
export function avalanche(x: number): number {
  let h = x ^ (x >>> 16);
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

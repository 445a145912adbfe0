// A bounded set of block hashes with recency: what one backend was sent lately, its least recently used forgotten first
// (an approximation of the server's own prefix cache, which evicts the same way).

export class HashLru {
  readonly capacity: number;
  /** A Map iterates in insertion order: deleting and setting again moves a hash to the recent end, in O(1). */
  readonly #entries = new Map<number, true>();

  constructor(capacity: number) {
    this.capacity = Math.max(1, capacity);
  }

  get size(): number {
    return this.#entries.size;
  }

  has(hash: number): boolean {
    return this.#entries.has(hash);
  }

  /** Remember `hash` as the most recent, forgetting the least recent past the capacity. */
  touch(hash: number): void {
    const e = this.#entries;
    if (e.has(hash)) e.delete(hash);
    else if (e.size >= this.capacity) e.delete(e.keys().next().value!);
    e.set(hash, true);
  }

  /** The number of hashes from the start of `hashes` that are all remembered: the length of the matched prefix. */
  matched(hashes: readonly number[]): number {
    let n = 0;
    while (n < hashes.length && this.#entries.has(hashes[n]!)) n++;
    return n;
  }
}

// Prefix affinity for one pool: the prompt's chained block hashes (blocks.ts), a bounded memory per backend of the
// hashes it was sent (lru.ts), and the choice of the backend with the longest matched prefix among those the caller
// says may take the request — unless the imbalance gate (gate.ts) says it is too busy; then, and on a miss, the pool's
// balancer decides. Whoever is picked, the request's hashes are remembered for that backend (its cache now holds them).
import type { Candidate } from '../balancer/balancer.js';
import type { PrefixAffinityConfig } from '../config/types.js';
import { blockHashes } from './blocks.js';
import { loadOf, tooImbalanced, type ImbalanceLimits } from './gate.js';
import { HashLru } from './lru.js';
import { promptOf } from './prompt.js';
import { idHash, rendezvousWeight } from './rendezvous.js';

/**
 * `hit`: the backend with the longest match takes it; `miss`: no eligible backend holds even its first block (the
 * balancer picks, or with `onMiss: hash` the rendezvous backend of its first block); `gated`:
 * one does but is too busy; `no-prompt`: no prompt to hash (no body read ahead, not JSON, shorter than a block).
 */
export type AffinityOutcome = 'hit' | 'miss' | 'gated' | 'no-prompt';

export interface AffinityChoice<T> {
  /** Undefined: the pool's balancer picks (a gated request, a miss unless `onMiss: hash`). */
  readonly backend: T | undefined;
  readonly outcome: 'hit' | 'miss' | 'gated';
  /** Blocks the best eligible backend matched. */
  readonly matched: number;
}

export class PrefixAffinity {
  readonly config: PrefixAffinityConfig;
  readonly #limits: ImbalanceLimits;
  /** By backend id, so that a reload with the same settings keeps what each backend was sent. */
  readonly #seen = new Map<string, HashLru>();
  /** Backend id hashes for rendezvous on a miss (onMiss: hash). */
  readonly #ids = new Map<string, number>();

  constructor(config: PrefixAffinityConfig) {
    this.config = config;
    this.#limits = { absolute: config.maxImbalanceAbsolute, relative: config.maxImbalanceRelative };
  }

  /** The block hashes of a request body read ahead, or null when it has no prompt of at least one block. */
  keyOf(body: Buffer): number[] | null {
    const c = this.config;
    if (body.length > c.maxBodyBytes) return null;
    const prompt = promptOf(body, c.blockChars * c.maxBlocks);
    if (prompt === null) return null;
    const hashes = blockHashes(prompt.model, prompt.text, c.blockChars, c.maxBlocks);
    return hashes.length === 0 ? null : hashes;
  }

  /**
   * Among `backends` with weight for which `eligible` holds: the one that matched the most blocks (the less loaded on a
   * tie), if the gate lets it take the request against the least loaded of them. With `onMiss: hash`, a miss goes to
   * the rendezvous backend of the first block, under the same gate.
   */
  choose<T extends Candidate>(backends: readonly T[], eligible: (b: T) => boolean, hashes: readonly number[]): AffinityChoice<T> {
    let best: T | undefined;
    let bestMatched = 0;
    let bestLoad = 0;
    let leastLoad = Infinity;
    const byHash = this.config.onMiss === 'hash';
    let ring: T | undefined;
    let ringWeight = -1;
    let ringLoad = 0;
    for (const b of backends) {
      if (!(b.effectiveWeight() > 0) || !eligible(b)) continue;
      const load = loadOf(b);
      if (load < leastLoad) leastLoad = load;
      if (byHash) {
        const w = rendezvousWeight(hashes[0]!, this.#idHash(b.id));
        if (w > ringWeight) {
          ring = b;
          ringWeight = w;
          ringLoad = load;
        }
      }
      const matched = this.#seen.get(b.id)?.matched(hashes) ?? 0;
      if (matched > bestMatched || (matched === bestMatched && matched > 0 && load < bestLoad)) {
        best = b;
        bestMatched = matched;
        bestLoad = load;
      }
    }
    if (best === undefined) {
      if (ring === undefined) return { backend: undefined, outcome: 'miss', matched: 0 };
      if (tooImbalanced(ringLoad, leastLoad, this.#limits)) return { backend: undefined, outcome: 'gated', matched: 0 };
      return { backend: ring, outcome: 'miss', matched: 0 };
    }
    if (tooImbalanced(bestLoad, leastLoad, this.#limits)) return { backend: undefined, outcome: 'gated', matched: bestMatched };
    return { backend: best, outcome: 'hit', matched: bestMatched };
  }

  /** `id` was sent these blocks: its cache holds them now. */
  record(id: string, hashes: readonly number[]): void {
    let lru = this.#seen.get(id);
    if (lru === undefined) {
      lru = new HashLru(this.config.perBackend);
      this.#seen.set(id, lru);
    }
    // Last block first: the first blocks end up the most recent, so that eviction takes a prefix's tail before its head
    // (a remembered tail without its head could never be matched: matching walks from the first block).
    for (let i = hashes.length - 1; i >= 0; i--) lru.touch(hashes[i]!);
  }

  /** Forget backends no longer in the pool (discovery removed them, a reload dropped them). */
  retain(ids: ReadonlySet<string>): void {
    for (const id of this.#seen.keys()) if (!ids.has(id)) this.#seen.delete(id);
    for (const id of this.#ids.keys()) if (!ids.has(id)) this.#ids.delete(id);
  }

  #idHash(id: string): number {
    let h = this.#ids.get(id);
    if (h === undefined) {
      h = idHash(id);
      this.#ids.set(id, h);
    }
    return h;
  }

  /** Blocks remembered for a backend (admin views, tests). */
  remembered(id: string): number {
    return this.#seen.get(id)?.size ?? 0;
  }
}

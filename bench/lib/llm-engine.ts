/**
 * The queueing model of one fake vLLM replica (servers/llm-fleet.ts): what the `llm` scenario routes against.
 *
 * It follows vLLM's v1 scheduler in the parts that decide latency under load, and sleeps instead of computing (the
 * step's cost is a duration, waited with a timer), so a few replicas cost the 2-core bench machine almost no CPU:
 *
 * - continuous batching: a step advances every running sequence by one token; a new request joins at the next step
 *   (at most `maxRunning` sequences, vLLM's max_num_seqs);
 * - chunked prefill: each step has a token budget (`maxBatchedTokens`, vLLM's max_num_batched_tokens); decodes take
 *   one token each, what is left prefills waiting prompts in arrival order, so a long prompt spreads over steps;
 * - a KV cache of `kvBlocks` blocks of `blockTokens` tokens: a request is admitted only when its prompt's blocks fit
 *   (first come first served: the head of the queue blocks the rest, as vLLM does), a running sequence takes a new
 *   block every `blockTokens` generated tokens, and when none is left the youngest running sequence is preempted
 *   (its blocks freed, back to the front of the queue, recomputed later: vLLM's recompute preemption);
 * - automatic prefix caching: full prompt blocks are named by a chained hash of their tokens; blocks in use are
 *   shared by reference count, freed blocks stay cached (least recently used first to be reused) until their space is
 *   needed, and a new prompt skips prefill for its longest cached run of leading blocks;
 * - step cost = slowdown × (stepBaseMs + stepMsPerSeq × decoding sequences + prefillMsPerToken × prefill tokens),
 *   the shape of a memory-bound decode plus a compute-bound prefill.
 *
 * `kvUsage()` is vLLM's kv_cache_usage_perc: blocks held by running sequences over all blocks (cached free blocks
 * do not count, as in vLLM's block pool).
 */

export interface EngineConfig {
  /** vLLM max_num_seqs. */
  readonly maxRunning: number;
  /** vLLM max_num_batched_tokens: decode + prefill tokens one step may take. */
  readonly maxBatchedTokens: number;
  readonly kvBlocks: number;
  readonly blockTokens: number;
  readonly stepBaseMs: number;
  readonly stepMsPerSeq: number;
  readonly prefillMsPerToken: number;
  /** 1 = nominal speed; 3 = every step takes three times as long (an older GPU, a noisy neighbour). */
  readonly slowdown: number;
}

export interface SequenceEvents {
  /** The `index`-th output token (0-based) is ready; `last` when it is the final one. */
  token(index: number, last: boolean): void;
}

interface Sequence {
  readonly id: number;
  readonly blockHashes: readonly string[];
  readonly promptTokens: number;
  readonly maxTokens: number;
  readonly events: SequenceEvents;
  /** Prompt tokens already in the cache (prefix hit) or computed. */
  prefilled: number;
  generated: number;
  /** Hashed prompt blocks this sequence holds a reference to (its cached prefix plus blocks it computed). */
  sharedBlocks: string[];
  /** Blocks only this sequence holds: the prompt's partial last block and generated tokens. */
  privateBlocks: number;
  aborted: boolean;
}

export interface EngineCounters {
  promptTokens: number;
  generationTokens: number;
  prefixQueryTokens: number;
  prefixHitTokens: number;
  preemptions: number;
  finished: number;
}

export class LlmEngine {
  readonly #config: EngineConfig;
  readonly #waiting: Sequence[] = [];
  readonly #running: Sequence[] = [];
  /** Hashed blocks in use and their reference counts. */
  readonly #inUse = new Map<string, number>();
  /** Hashed blocks no sequence uses any more, still holding their KV (Map order = least recently used first). */
  readonly #cachedFree = new Map<string, true>();
  #privateBlocks = 0;
  #nextId = 1;
  /** A step is scheduled or under way: at most one at a time. */
  #busy = false;
  readonly counters: EngineCounters = { promptTokens: 0, generationTokens: 0, prefixQueryTokens: 0, prefixHitTokens: 0, preemptions: 0, finished: 0 };

  constructor(config: EngineConfig) {
    this.#config = config;
  }

  /** Queues a request; returns a cancel function (the client went away). */
  submit(blockHashes: readonly string[], promptTokens: number, maxTokens: number, events: SequenceEvents): () => void {
    const seq: Sequence = {
      id: this.#nextId++,
      blockHashes,
      promptTokens,
      maxTokens: Math.max(1, maxTokens),
      events,
      prefilled: 0,
      generated: 0,
      sharedBlocks: [],
      privateBlocks: 0,
      aborted: false,
    };
    this.#waiting.push(seq);
    this.#wake();
    return () => {
      seq.aborted = true;
    };
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  get running(): number {
    return this.#running.length;
  }

  kvUsage(): number {
    return (this.#inUse.size + this.#privateBlocks) / this.#config.kvBlocks;
  }

  /** Forgets every cached free block (between bench cells, so each starts cold); only when idle. */
  resetPrefixCache(): boolean {
    if (this.#running.length > 0 || this.#waiting.length > 0) return false;
    this.#cachedFree.clear();
    return true;
  }

  #freeBlocks(): number {
    return this.#config.kvBlocks - this.#inUse.size - this.#privateBlocks - this.#cachedFree.size;
  }

  /** Blocks that could be handed out now: empty ones plus cached free ones (evictable). */
  #available(): number {
    return this.#freeBlocks() + this.#cachedFree.size;
  }

  /** Takes one empty block, evicting the least recently used cached block when none is empty. */
  #takeBlock(): boolean {
    if (this.#freeBlocks() > 0) return true;
    const oldest = this.#cachedFree.keys().next();
    if (oldest.done === true) return false;
    this.#cachedFree.delete(oldest.value);
    return true;
  }

  /** An idle engine starts stepping on the next turn of the event loop, so requests arriving together batch together. */
  #wake(): void {
    if (this.#busy) return;
    this.#busy = true;
    setImmediate(() => this.#step());
  }

  /** Admits the head of the queue while it fits: batch slots and KV blocks for its whole prompt. */
  #admit(): void {
    const { maxRunning, blockTokens } = this.#config;
    while (this.#waiting.length > 0 && this.#running.length < maxRunning) {
      const seq = this.#waiting[0] as Sequence;
      if (seq.aborted) {
        this.#waiting.shift();
        continue;
      }
      // Longest run of leading blocks already held (in use or cached free).
      let hit = 0;
      while (hit < seq.blockHashes.length) {
        const hash = seq.blockHashes[hit] as string;
        if (!this.#inUse.has(hash) && !this.#cachedFree.has(hash)) break;
        hit += 1;
      }
      const totalBlocks = Math.ceil((seq.promptTokens + 1) / blockTokens);
      const revived = seq.blockHashes.slice(0, hit).filter((h) => this.#cachedFree.has(h)).length;
      const needed = totalBlocks - hit + revived;
      // Cached blocks this prompt revives leave the evictable set, so they cannot also pay for its new blocks.
      if (needed > this.#available()) return;
      this.#waiting.shift();
      for (const hash of seq.blockHashes.slice(0, hit)) this.#reference(hash);
      seq.sharedBlocks = seq.blockHashes.slice(0, hit) as string[];
      for (let i = hit; i < totalBlocks; i += 1) {
        const hash = seq.blockHashes[i];
        if (hash !== undefined && (this.#inUse.has(hash) || this.#cachedFree.has(hash))) {
          // Past a gap (an earlier block was evicted) the block is still held: shared, but its prefill is not saved.
          this.#reference(hash);
          seq.sharedBlocks.push(hash);
          continue;
        }
        this.#takeBlock();
        // Blocks past the cached prefix are computed by this sequence; full ones become shareable once computed,
        // which we approximate as now (a concurrent identical prompt then shares them, as vLLM's block pool does).
        if (hash !== undefined) {
          this.#inUse.set(hash, 1);
          seq.sharedBlocks.push(hash);
        } else {
          seq.privateBlocks += 1;
          this.#privateBlocks += 1;
        }
      }
      const hitTokens = Math.min(hit * blockTokens, seq.promptTokens - 1);
      seq.prefilled = hitTokens;
      this.counters.prefixQueryTokens += seq.promptTokens;
      this.counters.prefixHitTokens += hitTokens;
      this.#running.push(seq);
    }
  }

  #reference(hash: string): void {
    if (this.#cachedFree.delete(hash)) this.#inUse.set(hash, 1);
    else this.#inUse.set(hash, (this.#inUse.get(hash) ?? 0) + 1);
  }

  #release(seq: Sequence): void {
    // Last block first into the LRU, so a prompt's tail is evicted before its head (vLLM frees in reverse order for
    // the same reason: the head is what the next request shares).
    for (const hash of [...seq.sharedBlocks].reverse()) {
      const refs = (this.#inUse.get(hash) ?? 1) - 1;
      if (refs > 0) this.#inUse.set(hash, refs);
      else {
        this.#inUse.delete(hash);
        this.#cachedFree.set(hash, true);
      }
    }
    this.#privateBlocks -= seq.privateBlocks;
    seq.sharedBlocks = [];
    seq.privateBlocks = 0;
  }

  #step(): void {
    for (let i = this.#running.length - 1; i >= 0; i -= 1) {
      const seq = this.#running[i] as Sequence;
      if (seq.aborted) {
        this.#release(seq);
        this.#running.splice(i, 1);
      }
    }
    this.#admit();
    if (this.#running.length === 0) {
      this.#busy = false;
      return;
    }
    const { maxBatchedTokens, stepBaseMs, stepMsPerSeq, prefillMsPerToken, slowdown } = this.#config;
    const decoding = this.#running.filter((s) => s.prefilled >= s.promptTokens);
    let budget = Math.max(0, maxBatchedTokens - decoding.length);
    const chunks = new Map<Sequence, number>();
    for (const seq of this.#running) {
      if (seq.prefilled >= seq.promptTokens || budget === 0) continue;
      const chunk = Math.min(budget, seq.promptTokens - seq.prefilled);
      chunks.set(seq, chunk);
      budget -= chunk;
    }
    let prefillTokens = 0;
    for (const chunk of chunks.values()) prefillTokens += chunk;
    const ms = slowdown * (stepBaseMs + stepMsPerSeq * decoding.length + prefillMsPerToken * prefillTokens);
    setTimeout(() => this.#finishStep(decoding, chunks), ms);
  }

  /** The step's work is done: decodes emit a token, completed prefills emit their first token. */
  #finishStep(decoding: readonly Sequence[], chunks: ReadonlyMap<Sequence, number>): void {
    const emitting: Sequence[] = [];
    for (const seq of decoding) if (!seq.aborted && this.#running.includes(seq)) emitting.push(seq);
    for (const [seq, chunk] of chunks) {
      if (seq.aborted || !this.#running.includes(seq)) continue;
      seq.prefilled += chunk;
      this.counters.promptTokens += chunk;
      if (seq.prefilled >= seq.promptTokens) emitting.push(seq);
    }
    const { blockTokens } = this.#config;
    for (const seq of emitting) {
      if (!this.#running.includes(seq)) continue; // preempted earlier in this loop
      const index = seq.generated;
      seq.generated += 1;
      this.counters.generationTokens += 1;
      const last = seq.generated >= seq.maxTokens;
      seq.events.token(index, last);
      if (last) {
        this.#release(seq);
        this.#running.splice(this.#running.indexOf(seq), 1);
        this.counters.finished += 1;
        continue;
      }
      // A new block once the sequence's tokens fill the ones it holds.
      const held = seq.sharedBlocks.length + seq.privateBlocks;
      if (seq.promptTokens + seq.generated + 1 > held * blockTokens) this.#grow(seq);
    }
    // The next step starts at once, as a GPU's does; requests that arrived during this one join it.
    this.#step();
  }

  /** One more block for `seq`, preempting the youngest other running sequences (recompute) until one is free. */
  #grow(seq: Sequence): void {
    while (!this.#takeBlock()) {
      const victim = [...this.#running].reverse().find((s) => s !== seq);
      if (victim === undefined) return; // alone and out of blocks: let it overrun rather than deadlock
      this.#preempt(victim);
    }
    seq.privateBlocks += 1;
    this.#privateBlocks += 1;
  }

  #preempt(victim: Sequence): void {
    this.#release(victim);
    this.#running.splice(this.#running.indexOf(victim), 1);
    // Recompute: prompt and tokens so far are prefilled again; already streamed tokens are not sent twice.
    victim.prefilled = 0;
    this.#waiting.unshift(victim);
    this.counters.preemptions += 1;
  }
}

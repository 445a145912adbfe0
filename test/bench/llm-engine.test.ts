// The fake vLLM replica's queueing model (bench/lib/llm-engine.ts) on fake timers: the llm bench's verdicts are only
// as good as this model, so its rules are pinned here: batching, the KV budget, prefix-cache savings, preemption.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LlmEngine, type EngineConfig } from '../../bench/lib/llm-engine.ts';

const BASE: EngineConfig = {
  maxRunning: 4,
  maxBatchedTokens: 1000,
  kvBlocks: 100,
  blockTokens: 10,
  stepBaseMs: 10,
  stepMsPerSeq: 0,
  prefillMsPerToken: 0.1,
  slowdown: 1,
};

/** Block hashes of a prompt of `tokens` tokens whose first `shared` blocks are the named prefix's. */
function hashes(prefix: string, shared: number, own: string, tokens: number, blockTokens = 10): string[] {
  return Array.from({ length: Math.floor(tokens / blockTokens) }, (_, i) => (i < shared ? `${prefix}-${i}` : `${own}-${i}`));
}

function track(engine: LlmEngine, blocks: string[], tokens: number, maxTokens: number) {
  const seen = { first: -1, done: -1, count: 0 };
  engine.submit(blocks, tokens, maxTokens, {
    token(index, last) {
      if (index === 0) seen.first = Date.now();
      seen.count += 1;
      if (last) seen.done = Date.now();
    },
  });
  return seen;
}

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('LlmEngine', () => {
  it('streams one token per step; the first after the prompt is prefilled', async () => {
    const engine = new LlmEngine(BASE);
    const a = track(engine, hashes('p', 0, 'a', 100), 100, 3);
    await vi.runAllTimersAsync();
    // step 1: 10 ms + 100 prompt tokens x 0.1 ms; steps 2 and 3: 10 ms each.
    expect(a).toEqual({ first: 20, done: 40, count: 3 });
  });

  it('runs at most maxRunning sequences; the next one starts when one finishes', async () => {
    const engine = new LlmEngine({ ...BASE, maxRunning: 1, prefillMsPerToken: 0 });
    const a = track(engine, [], 5, 2);
    const b = track(engine, [], 5, 2);
    await vi.advanceTimersByTimeAsync(0);
    expect(engine.running).toBe(1);
    expect(engine.waiting).toBe(1);
    await vi.runAllTimersAsync();
    expect(a.done).toBe(20);
    expect(b.first).toBe(30);
  });

  it('keeps a request waiting while its prompt does not fit the KV budget', async () => {
    const engine = new LlmEngine({ ...BASE, kvBlocks: 12, prefillMsPerToken: 0 });
    track(engine, hashes('p', 0, 'a', 100), 100, 5); // 11 blocks (100 tokens + the first output)
    const b = track(engine, hashes('p', 0, 'b', 100), 100, 1);
    await vi.advanceTimersByTimeAsync(0);
    expect(engine.running).toBe(1);
    expect(engine.waiting).toBe(1);
    expect(engine.kvUsage()).toBeCloseTo(11 / 12);
    await vi.runAllTimersAsync();
    expect(b.count).toBe(1);
    expect(engine.kvUsage()).toBe(0);
  });

  it('skips prefill for the cached prefix of a later prompt (and counts the hit)', async () => {
    const engine = new LlmEngine(BASE);
    track(engine, hashes('doc', 8, 'a', 100), 100, 1);
    await vi.runAllTimersAsync();
    const start = Date.now();
    const b = track(engine, hashes('doc', 8, 'b', 100), 100, 1);
    await vi.runAllTimersAsync();
    // 80 of 100 tokens cached: 10 ms + 20 x 0.1 ms instead of 10 ms + 100 x 0.1 ms.
    expect(b.first - start).toBe(12);
    expect(engine.counters.prefixHitTokens).toBe(80);
  });

  it('forgets cached prefixes on reset, only when idle', async () => {
    const engine = new LlmEngine(BASE);
    track(engine, hashes('doc', 8, 'a', 100), 100, 1);
    expect(engine.resetPrefixCache()).toBe(false);
    await vi.runAllTimersAsync();
    expect(engine.resetPrefixCache()).toBe(true);
    const start = Date.now();
    const b = track(engine, hashes('doc', 8, 'b', 100), 100, 1);
    await vi.runAllTimersAsync();
    expect(b.first - start).toBe(20);
  });

  it('preempts the youngest sequence when a running one needs a block and none is left', async () => {
    const engine = new LlmEngine({ ...BASE, kvBlocks: 4, prefillMsPerToken: 0 });
    const a = track(engine, [], 9, 20); // grows past its first block
    const b = track(engine, [], 9, 20);
    await vi.runAllTimersAsync();
    expect(engine.counters.preemptions).toBeGreaterThan(0);
    expect(a.count).toBe(20);
    expect(b.count).toBe(20);
  });

  it('a slower replica takes proportionally longer for the same work', async () => {
    const engine = new LlmEngine({ ...BASE, slowdown: 3 });
    const a = track(engine, hashes('p', 0, 'a', 100), 100, 3);
    await vi.runAllTimersAsync();
    expect(a.done).toBe(120);
  });
});

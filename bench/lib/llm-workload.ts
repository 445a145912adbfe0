/**
 * The `llm` scenario's traffic: an uneven mix of prompts that share prefixes, and open-loop Poisson arrivals.
 *
 * The mix is what an LLM fleet behind one endpoint sees: chat turns under a few system prompts (many requests share
 * each one), questions about a few long documents (RAG: the document is the shared prefix), long unique prompts
 * (summarise this) and short prompts with long answers. Which system prompt or document a request uses follows a
 * Zipf-like skew, so some prefixes are hot. Everything comes from a seeded generator: every target gets the very same
 * request sequence and arrival times for a given load level and round.
 */

// The tests' seeded generator (mulberry32), one copy for both: a workload and a test seeded alike draw alike.
import { seededRandom } from '../../test/helpers/manual-clock.ts';

export { seededRandom };

export type RequestKind = 'chat' | 'document' | 'long-prompt' | 'long-answer';

export interface LlmRequest {
  readonly kind: RequestKind;
  readonly path: '/v1/completions' | '/v1/chat/completions';
  readonly body: string;
  /** Prompt length in (fake) tokens: words. */
  readonly promptTokens: number;
  readonly maxTokens: number;
}

const VOCABULARY = 'the model server queue cache token batch prefix request latency replica stream answer question document system user prompt output layer weight kernel memory block decode prefill scheduler router gateway fleet shard tensor value key attention head vector score'.split(' ');

function words(random: () => number, count: number, tag: string): string {
  const out: string[] = [];
  for (let i = 0; i < count; i += 1) out.push(`${VOCABULARY[Math.floor(random() * VOCABULARY.length)]}${i % 7 === 0 ? tag : ''}`);
  return out.join(' ');
}

function between(random: () => number, low: number, high: number): number {
  return Math.round(low + random() * (high - low));
}

/** Index 0 most often: weights 1, 1/2, 1/3, ... */
function zipf(random: () => number, n: number): number {
  const weights = Array.from({ length: n }, (_, i) => 1 / (i + 1));
  let x = random() * weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < n; i += 1) {
    x -= weights[i] as number;
    if (x <= 0) return i;
  }
  return n - 1;
}

export interface Workload {
  readonly systemPrompts: readonly string[];
  readonly documents: readonly string[];
}

/** The shared prefixes: 4 system prompts (200-800 tokens) and 3 documents (1,500-3,500 tokens), fixed by the seed. */
export function makeWorkload(seed = 12): Workload {
  const random = seededRandom(seed);
  return {
    systemPrompts: [200, 400, 600, 800].map((n, i) => `You are assistant ${i}. ${words(random, n, `s${i}`)}`),
    documents: [1500, 2500, 3500].map((n, i) => `Document ${i}: ${words(random, n, `d${i}`)}`),
  };
}

/**
 * One request of the mix: 50 % chat (10-60 output tokens), 25 % document question (20-80), 15 % long unique prompt
 * (5-30), 10 % short prompt with a long answer (60-150). Outputs are shorter than a real chat's so that a run drains in
 * seconds; what matters to routing is their spread, not their mean.
 */
export function makeRequest(workload: Workload, random: () => number, n: number): LlmRequest {
  const roll = random();
  const model = 'bench-llm';
  if (roll < 0.5) {
    const system = workload.systemPrompts[zipf(random, workload.systemPrompts.length)] as string;
    const question = words(random, between(random, 20, 150), `q${n}`);
    const maxTokens = between(random, 10, 60);
    const body = JSON.stringify({ model, messages: [{ role: 'system', content: system }, { role: 'user', content: question }], max_tokens: maxTokens, stream: true });
    return { kind: 'chat', path: '/v1/chat/completions', body, promptTokens: countWords(system) + countWords(question) + 2, maxTokens };
  }
  if (roll < 0.75) {
    const doc = workload.documents[zipf(random, workload.documents.length)] as string;
    const question = words(random, between(random, 20, 80), `q${n}`);
    const maxTokens = between(random, 20, 80);
    const prompt = `${doc}\nQuestion: ${question}\nAnswer:`;
    return { kind: 'document', path: '/v1/completions', body: JSON.stringify({ model, prompt, max_tokens: maxTokens, stream: true }), promptTokens: countWords(prompt), maxTokens };
  }
  if (roll < 0.9) {
    const prompt = `Summarise: ${words(random, between(random, 800, 3000), `u${n}`)}`;
    const maxTokens = between(random, 5, 30);
    return { kind: 'long-prompt', path: '/v1/completions', body: JSON.stringify({ model, prompt, max_tokens: maxTokens, stream: true }), promptTokens: countWords(prompt), maxTokens };
  }
  const prompt = `Write: ${words(random, between(random, 10, 60), `w${n}`)}`;
  const maxTokens = between(random, 60, 150);
  return { kind: 'long-answer', path: '/v1/completions', body: JSON.stringify({ model, prompt, max_tokens: maxTokens, stream: true }), promptTokens: countWords(prompt), maxTokens };
}

function countWords(text: string): number {
  return text.split(/\s+/).filter((w) => w !== '').length;
}

export interface Arrival {
  /** ms after the start of the run. */
  readonly atMs: number;
  readonly request: LlmRequest;
}

/** Poisson arrivals at `ratePerSec` for `durationSec`, each with a request from the mix; same seed, same schedule. */
export function poissonSchedule(workload: Workload, ratePerSec: number, durationSec: number, seed: number): Arrival[] {
  const random = seededRandom(seed);
  const arrivals: Arrival[] = [];
  let t = 0;
  for (let n = 0; n < 1_000_000; n += 1) {
    t += (-Math.log(1 - random()) / ratePerSec) * 1000;
    if (t >= durationSec * 1000) break;
    arrivals.push({ atMs: t, request: makeRequest(workload, random, n) });
  }
  return arrivals;
}

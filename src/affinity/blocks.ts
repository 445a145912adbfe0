// Chained hashes of a prompt's blocks: block i's hash covers block i and (through the chain) everything before it, so
// two prompts share the hashes of exactly the blocks of their common prefix — a longer shared prefix matches more
// blocks. The same idea as the Gateway API Inference Extension's prefix-cache scorer (hash(i) = hash(block i,
// hash(i - 1)), hash(0) = the model; kubernetes-sigs/gateway-api-inference-extension,
// pkg/epp/scheduling/framework/plugins/multi/prefix/plugin.go) and vLLM's own prefix cache; written here from the idea.
//
// Blocks are counted in characters (UTF-16 code units), an approximation of tokens: infergate does not tokenise.
// The hash is FNV-1a over pairs of code units in two 32-bit lanes with different offsets, each finished with murmur3's
// avalanche (FNV's low bits depend only on the inputs' low bits), folded into 53 bits (a Map key that is a plain
// number): no allocation per block, a few ns per character, and at 53 bits collisions among a pool's few million
// remembered blocks are rare — a collision only ever costs a wrong preference, never a wrong answer.
import { avalanche } from '../hash.js';

const FNV_PRIME = 0x01000193;
const LANE_A = 0x811c9dc5;
const LANE_B = 0x050c5d1f;
const TWO_32 = 0x1_0000_0000;

/**
 * Hashes of the first `maxBlocks` whole blocks of `text` (a last partial block is not hashed: a server caches whole
 * blocks only), seeded by `model`. Empty when the text is shorter than one block.
 */
export function blockHashes(model: string, text: string, blockChars: number, maxBlocks: number): number[] {
  const n = Math.min(Math.floor(text.length / blockChars), maxBlocks);
  const out = new Array<number>(n);
  let a = avalanche(fnv(model, 0, model.length, LANE_A));
  let b = avalanche(fnv(model, 0, model.length, LANE_B));
  for (let i = 0; i < n; i++) {
    const from = i * blockChars;
    // The chain: each block's lanes start from the previous block's.
    a = avalanche(fnv(text, from, from + blockChars, a));
    b = avalanche(fnv(text, from, from + blockChars, b));
    out[i] = (a & 0x1f_ffff) * TWO_32 + b;
  }
  return out;
}

/**
 * FNV-1a over the code units of s[from, to), two at a time (one 32-bit word per multiply: half the work). A multiply
 * only carries bits upwards, so the high half is folded down after each: the second code unit of a pair reaches the
 * low bits too.
 */
export function fnv(s: string, from: number, to: number, seed: number): number {
  let h = seed;
  let i = from;
  for (; i + 1 < to; i += 2) {
    h = Math.imul(h ^ (s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16)), FNV_PRIME);
    h ^= h >>> 16;
  }
  if (i < to) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME);
  return h;
}


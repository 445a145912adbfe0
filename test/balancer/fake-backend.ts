// A backend stand-in for balancer tests: weight, in-flight count and latency are plain fields.
import type { Candidate } from '../../src/balancer/balancer.js';

export class FakeBackend implements Candidate {
  constructor(
    readonly id: string,
    public weight = 1,
    public inflight = 0,
    public latency = 0,
  ) {}
  effectiveWeight(): number {
    return this.weight;
  }
  latencyScore(): number {
    return this.latency;
  }
}

/** Backends named a, b, c, ... with the given weights. */
export function backendsWithWeights(...weights: number[]): FakeBackend[] {
  return weights.map((w, i) => new FakeBackend(String.fromCharCode(97 + i), w));
}

export const always = (): boolean => true;

/** A random() that replays the given values and fails loudly when they run out. */
export function scriptedRandom(values: number[]): () => number {
  let i = 0;
  return () => {
    const v = values[i++];
    if (v === undefined) throw new Error(`scriptedRandom: only ${values.length} values scripted`);
    return v;
  };
}

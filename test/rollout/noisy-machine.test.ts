// On a noisy, CPU-starved machine with modest traffic (the shipped rollout defaults, the real controller, a manual clock):
// a healthy canary is promoted in 20 of 20 seeded runs; one 50 % slower, or failing 5 points more often, is rolled back in 20 of 20.
import { describe, expect, it } from 'vitest';
import { HEALTHY, simulate, STABLE_ERROR_RATE, type Canary, type Outcome } from './noisy-machine.js';

const SEEDS = Array.from({ length: 20 }, (_, i) => i + 1);

function runs(canary: Canary): Outcome[] {
  return SEEDS.map((seed) => simulate(seed, canary));
}

describe('rollout defaults on a noisy machine, 20 seeded runs each', () => {
  it('a healthy canary (latency from the same heavy-tailed distribution with stalls, 0.5 % errors like stable) is promoted every time', () => {
    const all = runs(HEALTHY);
    expect(all.map((o) => o.state)).toEqual(SEEDS.map(() => 'promoted'));
    const checks = all.flatMap((o) => o.checks);
    // The early steps judge small samples: some first windows are too small to judge, most hold under 100 canary requests.
    expect(checks.some((c) => c.verdict === 'inconclusive' && /canary requests, 50 needed$/.test(c.reason ?? ''))).toBe(true);
    const firstJudged = all.map((o) => o.checks.find((c) => c.verdict !== 'inconclusive')!);
    expect(firstJudged.filter((c) => c.canary.requests < 100).length).toBeGreaterThan(10);
    // The noise is real: stable's tail is many times its median in some windows.
    expect(checks.some((c) => c.stable.latencyMs !== null && c.latency.typical.stableMs !== null && c.stable.latencyMs > 3 * c.latency.typical.stableMs)).toBe(true);
  });

  it('a canary 50 % slower (its model time x 1.5; the machine\'s stalls as stable\'s) is rolled back every time, on latency', () => {
    const all = runs({ latencyFactor: 1.5, errorRate: STABLE_ERROR_RATE });
    expect(all.map((o) => o.state)).toEqual(SEEDS.map(() => 'rolled-back'));
    for (const o of all) expect(o.checks.filter((c) => c.verdict === 'fail').every((c) => c.failures.includes('latency-ratio'))).toBe(true);
  });

  it('a canary failing 5.5 % of its requests against stable\'s 0.5 % is rolled back every time, on errors', () => {
    const all = runs({ latencyFactor: 1, errorRate: STABLE_ERROR_RATE + 0.05 });
    expect(all.map((o) => o.state)).toEqual(SEEDS.map(() => 'rolled-back'));
    for (const o of all) {
      const failed = o.checks.filter((c) => c.verdict === 'fail');
      expect(failed.every((c) => c.failures.includes('error-ratio') || c.failures.includes('error-rate'))).toBe(true);
    }
  });
});

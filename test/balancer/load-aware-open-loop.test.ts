// Open loop, the scenario in simulation: three FIFO replicas (two at 10 ms, one 3x slower) on the manual clock,
// Poisson arrivals at 50 % and 80 % of their capacity, latency as the client sees it (queue wait + service). The
// latency scores are real peak EWMAs fed by those latencies. Load-aware must beat least-request on p99.
import { describe, expect, it } from 'vitest';
import type { Balancer, Candidate } from '../../src/balancer/balancer.js';
import { PeakEwma } from '../../src/balancer/ewma.js';
import { LeastRequestBalancer } from '../../src/balancer/least-request.js';
import { LoadAwareBalancer } from '../../src/balancer/load-aware.js';
import { ManualClock, seededRandom } from '../helpers/manual-clock.js';
import { noisy, type LatencyModel } from './latency-sim.js';

class Replica implements Candidate {
  readonly ewma = new PeakEwma();
  inflight = 0;
  picks = 0;
  /** When the FIFO server finishes what it has been given. */
  busyUntil = 0;
  constructor(readonly id: string, readonly service: LatencyModel, readonly clock: ManualClock) {}
  effectiveWeight(): number {
    return 1;
  }
  latencyScore(): number {
    return this.ewma.value(this.clock.now());
  }
}

function run(make: (random: () => number) => Balancer<Replica>, load: number, seed: number, requests = 4_000): { p50: number; p99: number; slowShare: number } {
  const clock = new ManualClock();
  const random = seededRandom(seed * 31 + 7);
  const balancer = make(seededRandom(seed));
  const replicas = [new Replica('a', noisy(10), clock), new Replica('b', noisy(10), clock), new Replica('slow', noisy(30), clock)];
  const rate = (1 / 10 + 1 / 10 + 1 / 30) * load; // requests per ms
  const latencies: number[] = [];
  let sent = 0;
  const arrive = (): void => {
    const r = balancer.pick(replicas, () => true)!;
    r.picks++;
    r.inflight++;
    const start = Math.max(clock.now(), r.busyUntil);
    r.busyUntil = start + r.service(r.picks, random);
    const ms = r.busyUntil - clock.now();
    clock.setTimer(ms, () => {
      r.inflight--;
      r.ewma.observe(ms, clock.now());
      latencies.push(ms);
    });
    if (++sent < requests) clock.setTimer(-Math.log(1 - random()) / rate, arrive);
  };
  arrive();
  while (clock.pending() > 0) clock.advance(1_000);
  latencies.sort((x, y) => x - y);
  return { p50: latencies[Math.floor(latencies.length * 0.5)]!, p99: latencies[Math.floor(latencies.length * 0.99)]!, slowShare: replicas[2]!.picks / requests };
}

const loadAware = (random: () => number) => new LoadAwareBalancer<Replica>({ random }, { weights: { queue: 2, kvCache: 2, inflight: 1, latency: 1 }, scoreAllUpTo: 32 });
const leastRequest = (random: () => number) => new LeastRequestBalancer<Replica>({ random });

// Measured (least-request -> load-aware, mean of 5 seeds): at 50 %, p50 13.8 -> 12.6 ms, p99 135 -> 112 ms, slow share
// 18.8 % -> 14.8 %; at 80 %, p50 39.2 -> 35.0 ms, p99 374 -> 342 ms (0.91x), slow share 15.5 % -> 14.6 %. The p99 of
// this model is mostly its 1-in-100 pauses (10x), which no balancer can foresee.
describe('load-aware in an open loop with a replica 3x slower', () => {
  it.each([0.5, 0.8])('p99 below least-request\'s at %s of capacity, over 5 seeds', (load) => {
    const la = [1, 2, 3, 4, 5].map((seed) => run(loadAware, load, seed));
    const lr = [1, 2, 3, 4, 5].map((seed) => run(leastRequest, load, seed));
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    const [laP99, lrP99] = [mean(la.map((r) => r.p99)), mean(lr.map((r) => r.p99))];
    expect(laP99).toBeLessThan(0.95 * lrP99);
  });
});

// Simulated backends with real peak-EWMA scores on a manual clock, driven by a closed loop of clients.
import type { Balancer, Candidate } from '../../src/balancer/balancer.js';
import { PeakEwma } from '../../src/balancer/ewma.js';
import { ManualClock, seededRandom } from '../helpers/manual-clock.js';
import { always } from './fake-backend.js';

/** Latency in ms of a backend's `n`th request (1-based), given a uniform [0, 1) source. */
export type LatencyModel = (n: number, random: () => number) => number;

/** Lognormal around `medianMs` (sigma 0.3), and 1 request in 100 a pause `pause` times as long. */
export function noisy(medianMs: number, pause = 10): LatencyModel {
  return (_n, random) => {
    const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    const ms = medianMs * Math.exp(0.3 * z);
    return random() < 0.01 ? ms * pause : ms;
  };
}

/** `model`, except that the first request takes `firstMs` (a cold model, a new connection). */
export function coldFirst(firstMs: number, model: LatencyModel): LatencyModel {
  return (n, random) => (n === 1 ? firstMs : model(n, random));
}

export class SimBackend implements Candidate {
  readonly ewma = new PeakEwma();
  inflight = 0;
  /** Index (0-based) of each request this backend was picked for. */
  readonly picks: number[] = [];
  constructor(
    readonly id: string,
    readonly latency: LatencyModel,
    readonly clock: ManualClock,
  ) {}
  effectiveWeight(): number {
    return 1;
  }
  latencyScore(): number {
    return this.ewma.value(this.clock.now());
  }
}

export interface SimResult {
  backends: SimBackend[];
  /** Share of all requests per backend id. */
  share: Record<string, number>;
}

/**
 * `requests` requests from `concurrency` clients, each sending its next request when its last one ends:
 * concurrency 1 is the sequential case, where every backend has 0 in flight at every pick. Latencies are
 * drawn from a random source apart from the balancer's, so both are reproducible from `seed`. Every
 * request to a backend named in `failing` fails after its latency and is reported as a failure.
 */
export function runClosedLoop(
  make: (random: () => number) => Balancer<SimBackend>,
  models: Record<string, LatencyModel>,
  opts: { requests: number; concurrency: number; seed: number; failing?: readonly string[] },
): SimResult {
  const clock = new ManualClock();
  const latencyRandom = seededRandom(opts.seed * 7_919 + 13);
  const balancer = make(seededRandom(opts.seed));
  const backends = Object.entries(models).map(([id, model]) => new SimBackend(id, model, clock));
  let sent = 0;
  const send = (): void => {
    const b = balancer.pick(backends, always);
    if (b === undefined) throw new Error('no pick');
    b.picks.push(sent++);
    b.inflight++;
    const ms = b.latency(b.picks.length, latencyRandom);
    clock.setTimer(ms, () => {
      b.inflight--;
      if (opts.failing?.includes(b.id)) b.ewma.observeFailure(clock.now());
      else b.ewma.observe(ms, clock.now());
      if (sent < opts.requests) send();
    });
  };
  for (let c = 0; c < opts.concurrency && sent < opts.requests; c++) send();
  while (clock.pending() > 0) clock.advance(60_000);
  const share: Record<string, number> = {};
  for (const b of backends) share[b.id] = b.picks.length / opts.requests;
  return { backends, share };
}

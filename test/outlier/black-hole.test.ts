// The "black hole": a backend failing in 1 ms draws a least-request balancer's traffic; the detector must cut it off on the failure itself.
import { expect, it } from 'vitest';
import { OutlierDetector } from '../../src/outlier/detector.js';
import type { OutlierHost } from '../../src/outlier/types.js';
import { outlierConfig } from '../helpers/config.js';
import { ManualClock, seededRandom } from '../helpers/manual-clock.js';

class SimHost implements OutlierHost {
  inflight = 0;
  sent = 0;
  failures = 0;
  ejected = false;
  lastSentAt = -1;
  constructor(readonly id: string, readonly latencyMs: number, readonly failing: boolean) {}
  isServing(): boolean {
    return !this.ejected;
  }
  isEjected(): boolean {
    return this.ejected;
  }
  eject(): void {
    this.ejected = true;
  }
  uneject(): void {
    this.ejected = false;
  }
}

/** 1 request per ms for `durationMs`, each to the less loaded of two random serving hosts (P2C least-request). */
function simulate(withDetector: boolean, durationMs: number) {
  const clock = new ManualClock();
  const random = seededRandom(42);
  const hosts = [new SimHost('a', 50, false), new SimHost('b', 1, true), new SimHost('c', 50, false)];
  const ejectedAt: number[] = [];
  const detector = new OutlierDetector(outlierConfig({ consecutive5xx: 5, maxEjectionPercent: 50 }), {
    clock,
    onEvent: (e) => {
      if (e.type === 'ejected') ejectedAt.push(clock.now());
    },
  });
  detector.setHosts(hosts);
  if (withDetector) detector.start();
  for (let t = 0; t < durationMs; t++) {
    const serving = hosts.filter((h) => h.isServing());
    const i = Math.floor(random() * serving.length);
    const j = (i + 1 + Math.floor(random() * (serving.length - 1))) % serving.length;
    const x = serving[i]!;
    const y = serving[j]!;
    const h = y.inflight < x.inflight ? y : x;
    h.inflight++;
    h.sent++;
    h.lastSentAt = t;
    clock.setTimer(h.latencyMs, () => {
      h.inflight--;
      if (h.failing) h.failures++;
      if (withDetector) detector.report(h, h.failing ? 'server-error' : 'success');
    });
    clock.advance(1);
  }
  clock.advance(100); // let in-flight requests finish
  detector.stop();
  return { hosts, ejectedAt };
}

it('without the detector the fast failer draws most of the traffic', () => {
  const { hosts } = simulate(false, 2_000);
  const b = hosts[1]!;
  expect(b.sent / 2_000).toBeGreaterThan(0.5);
  expect(b.failures).toBe(b.sent);
});

it('with the detector the failing backend gets exactly consecutive5xx requests, then nothing', () => {
  const { hosts, ejectedAt } = simulate(true, 2_000); // well inside the 30 s ejection
  const b = hosts[1]!;
  expect(b.sent).toBe(5);
  expect(b.failures).toBe(5);
  expect(ejectedAt).toHaveLength(1);
  // Ejected on the 5th failing response (1 ms after it was sent), not at the 10 s sweep.
  expect(ejectedAt[0]).toBe(b.lastSentAt + 1);
  expect(hosts[0]!.sent + hosts[2]!.sent).toBe(2_000 - 5);
});

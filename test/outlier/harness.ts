// Shared setup for the outlier tests: fake backends whose serving flag follows the detector's callbacks, as the lead's Backend will.
import { OutlierDetector } from '../../src/outlier/detector.js';
import type { Detector, EjectionEvent, OutlierHost } from '../../src/outlier/types.js';
import { outlierConfig, type OutlierInput } from '../helpers/config.js';
import { ManualClock } from '../helpers/manual-clock.js';

export class FakeHost implements OutlierHost {
  /** READY as far as probes go. */
  ready = true;
  /** The flag the detector writes (on a real Backend it lives in the health record). */
  ejected = false;
  constructor(readonly id: string) {}
  isServing(): boolean {
    return this.ready && !this.ejected;
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

export interface Skip {
  host: string;
  reason: string;
  detector: Detector;
}

export function setup(config: OutlierInput, hostCount: number) {
  const clock = new ManualClock();
  const ejections: EjectionEvent[] = [];
  const unejections: Array<{ host: OutlierHost; reason: string; at: number }> = [];
  const skips: Skip[] = [];
  const hosts = Array.from({ length: hostCount }, (_, i) => new FakeHost(`h${i}`));
  const detector = new OutlierDetector<FakeHost>(outlierConfig(config), {
    clock,
    onEvent(e) {
      if (e.type === 'ejected') ejections.push(e);
      else if (e.type === 'ejection-ended') unejections.push({ host: e.host, reason: e.reason, at: clock.now() });
      else skips.push({ host: e.host.id, reason: e.reason, detector: e.detector });
    },
  });
  detector.setHosts(hosts);
  return { clock, detector, hosts, ejections, unejections, skips };
}

export function fail(detector: OutlierDetector, host: OutlierHost, times: number, outcome: 'server-error' | 'gateway-error' = 'server-error'): void {
  for (let i = 0; i < times; i++) detector.report(host, outcome);
}

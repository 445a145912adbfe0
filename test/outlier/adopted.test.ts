// An ejection another replica decided (coordination/): applied here for its time, unless this replica's own view
// refuses it — the pool's cap, or its last serving backend — so two replicas ejecting two backends at once never
// empty a pool on both.
import { expect, it } from 'vitest';
import { fail, setup } from './harness.js';

const cfg = { consecutive5xx: 3, consecutiveGatewayErrors: 0, maxEjectionPercent: 50, baseEjectionTimeMs: 30_000 };

it('an adopted ejection lasts the time given, is reported with who decided it, and ends here by itself', () => {
  const { clock, detector, hosts, ejections, unejections } = setup(cfg, 4);
  expect(detector.adopt(hosts[1]!, 'consecutive-5xx', '3 consecutive server errors', 12_000, 'replica-b')).toBe(true);
  expect(hosts[1]!.ejected).toBe(true);
  expect(ejections.at(-1)).toMatchObject({ host: hosts[1], durationMs: 12_000, by: 'replica-b' });
  clock.advance(11_999);
  expect(hosts[1]!.ejected).toBe(true);
  clock.advance(1);
  expect(hosts[1]!.ejected).toBe(false);
  expect(unejections).toHaveLength(1);
  // Already ejected, unknown, or a zero duration: nothing.
  fail(detector, hosts[2]!, 3);
  expect(detector.adopt(hosts[2]!, 'consecutive-5xx', 'x', 5_000, 'replica-b')).toBe(false);
});

it('two backends of two: the one ejected here and the one another replica ejected are not both out', () => {
  const { detector, hosts, skips } = setup(cfg, 2);
  fail(detector, hosts[0]!, 3); // this replica's own verdict
  expect(hosts[0]!.ejected).toBe(true);
  expect(detector.adopt(hosts[1]!, 'consecutive-5xx', '3 consecutive server errors', 30_000, 'replica-b')).toBe(false);
  expect(hosts[1]!.ejected).toBe(false);
  expect(skips.at(-1)!.reason).toMatch(/decided by replica replica-b\); not ejected here: maxEjectionPercent 50%/);
});

it('the last backend serving here stays, whatever another replica saw', () => {
  const { detector, hosts, skips } = setup({ ...cfg, maxEjectionPercent: 100 }, 2);
  hosts[0]!.ready = false; // not serving here (its probes fail on this replica)
  expect(detector.adopt(hosts[1]!, 'consecutive-5xx', 'errors', 30_000, 'replica-c')).toBe(false);
  expect(skips.at(-1)!.reason).toMatch(/last serving backend/);
});

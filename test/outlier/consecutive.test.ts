// Consecutive-error detectors: eject at exactly the threshold, synchronously inside report(), reset by a success.
import { describe, expect, it } from 'vitest';
import { outcomeForStatus } from '../../src/outlier/outcome.js';
import { fail, setup } from './harness.js';

const both = { consecutive5xx: 5, consecutiveGatewayErrors: 3, maxEjectionPercent: 100 };

describe('consecutive 5xx', () => {
  it('n-1 server errors then a success does not eject, and resets the count', () => {
    const { detector, hosts, ejections } = setup(both, 3);
    const h = hosts[0]!;
    fail(detector, h, 4);
    expect(detector.view(h).consecutive5xx).toBe(4);
    detector.report(h, 'success');
    expect(detector.view(h).consecutive5xx).toBe(0);
    fail(detector, h, 4);
    expect(ejections).toEqual([]);
    expect(detector.isEjected(h)).toBe(false);
  });

  it('exactly n server errors eject, inside the n-th report', () => {
    const { detector, hosts, ejections } = setup(both, 3);
    const h = hosts[0]!;
    fail(detector, h, 4);
    expect(detector.isEjected(h)).toBe(false);
    detector.report(h, 'server-error');
    expect(detector.isEjected(h)).toBe(true);
    expect(ejections).toHaveLength(1);
    expect(ejections[0]).toMatchObject({ host: h, detector: 'consecutive-5xx', durationMs: 30_000, ejections: 1, multiplier: 1, reason: '5 consecutive server errors' });
    expect(detector.view(h)).toMatchObject({ ejected: true, ejectedUntilMs: 30_000, consecutive5xx: 0, lastReason: '5 consecutive server errors' });
  });

  it('gateway errors count as 5xx: a broken gateway streak still trips consecutive5xx', () => {
    const { detector, hosts, ejections } = setup(both, 3);
    const h = hosts[0]!;
    fail(detector, h, 2, 'gateway-error');
    fail(detector, h, 1, 'server-error'); // breaks the gateway streak, not the 5xx one
    fail(detector, h, 1, 'gateway-error');
    expect(detector.view(h)).toMatchObject({ consecutive5xx: 4, consecutiveGatewayErrors: 1 });
    fail(detector, h, 1, 'gateway-error');
    expect(ejections.map((e) => e.detector)).toEqual(['consecutive-5xx']);
  });

  it('only gateway errors, gateway detector off: consecutive5xx ejects them', () => {
    const { detector, hosts, ejections } = setup({ ...both, consecutiveGatewayErrors: 0 }, 3);
    fail(detector, hosts[0]!, 4, 'gateway-error');
    expect(ejections).toEqual([]);
    fail(detector, hosts[0]!, 1, 'gateway-error');
    expect(ejections.map((e) => e.detector)).toEqual(['consecutive-5xx']);
  });

  it('a detector set to 0 never ejects', () => {
    const { detector, hosts, ejections } = setup({ ...both, consecutive5xx: 0, consecutiveGatewayErrors: 0 }, 3);
    fail(detector, hosts[0]!, 100);
    fail(detector, hosts[0]!, 100, 'gateway-error');
    expect(ejections).toEqual([]);
  });
});

describe('consecutive gateway errors', () => {
  it('n-1 gateway errors then a success does not eject', () => {
    const { detector, hosts, ejections } = setup(both, 3);
    fail(detector, hosts[0]!, 2, 'gateway-error');
    detector.report(hosts[0]!, 'success');
    fail(detector, hosts[0]!, 2, 'gateway-error');
    expect(ejections).toEqual([]);
    expect(detector.view(hosts[0]!).consecutiveGatewayErrors).toBe(2);
  });

  it('exactly n gateway errors eject, before consecutive5xx would', () => {
    const { detector, hosts, ejections } = setup(both, 3);
    fail(detector, hosts[0]!, 3, 'gateway-error');
    expect(ejections).toHaveLength(1);
    expect(ejections[0]).toMatchObject({ detector: 'consecutive-gateway', reason: '3 consecutive gateway errors' });
  });
});

it('responses arriving while ejected are ignored; the slate is clean on return', () => {
  const { clock, detector, hosts, ejections, unejections } = setup(both, 3);
  const h = hosts[0]!;
  fail(detector, h, 5);
  fail(detector, h, 20); // in-flight requests sent before the ejection
  expect(ejections).toHaveLength(1);
  clock.advance(30_000);
  expect(unejections).toHaveLength(1);
  expect(detector.view(h)).toMatchObject({ ejected: false, consecutive5xx: 0, recentRequests: 0 });
  fail(detector, h, 4);
  expect(ejections).toHaveLength(1);
});

it('reports for a backend the detector does not know are ignored', () => {
  const { detector, ejections } = setup(both, 3);
  const stranger = { id: 'elsewhere', isServing: () => true };
  fail(detector, stranger, 10);
  expect(ejections).toEqual([]);
  expect(detector.isEjected(stranger)).toBe(false);
  expect(detector.view(stranger).ejections).toBe(0);
});

it.each([
  [200, 'success'],
  [404, 'success'],
  [424, 'success'],
  [500, 'server-error'],
  [501, 'server-error'],
  [502, 'gateway-error'],
  [503, 'gateway-error'],
  [504, 'gateway-error'],
  [599, 'server-error'],
])('status %i is %s', (status, outcome) => {
  expect(outcomeForStatus(status)).toBe(outcome);
});

it('a pool can count more statuses as server errors (TGI 424)', () => {
  expect(outcomeForStatus(424, new Set([424]))).toBe('server-error');
  expect(outcomeForStatus(429, new Set([424]))).toBe('success');
});

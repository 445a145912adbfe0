// A canary backend that leaves service during a rollout fails the check: ejection, MISMATCH or falling out of READY
// cannot hide a failure from the analysis. One still loading when the rollout began, or drained on purpose, does not.
import { expect, it } from 'vitest';
import type { BackendState } from '../../src/backends/state.js';
import type { CanaryBackend } from '../../src/rollout/types.js';
import { harness, healthy, type Outcome } from './harness.js';

const C1 = 'mlp.canary.127.0.0.1:9201';
const C2 = 'mlp.canary.127.0.0.1:9202';
const backends = (c1: BackendState, c2: BackendState, reason = 'test'): CanaryBackend[] => [
  { id: C1, state: c1, reason: 'ready' },
  { id: C2, state: c2, reason },
];

it('the textbook bad canary: two backends, one failing every request and ejected after 5 errors, is rolled back as a whole', () => {
  // steps [50, 100], interval 3 s, 50 req/s: ~75 canary requests a window; c2 failed its first 5 and then left.
  const h = harness({ steps: [50, 100], intervalMs: 3_000 });
  h.ctl.canaryBackends(backends('READY', 'READY'));
  expect(h.ctl.view()).toMatchObject({ state: 'progressing', weight: 50 });
  let c2Failures = 0;
  const c1AndC2: Outcome = (i) => (i % 2 === 1 && c2Failures < 5 ? (c2Failures++, [false, 2]) : [true, 20]);
  let sent = 0;
  for (; c2Failures < 5; sent++) h.send(1, c1AndC2);
  h.ctl.canaryBackends(backends('READY', 'EJECTED', 'ejected for 30 s: 5 consecutive server errors'));
  h.send(150 - sent, healthy());
  expect(h.ctl.view().backendsOut).toEqual([{ id: C2, state: 'EJECTED', reason: 'ejected for 30 s: 5 consecutive server errors', since: expect.any(String) }]);
  h.clock.advance(3_000);

  const first = h.checks[0]!;
  // 5 errors in ~75 requests alone is not shown at 99 %; the ejection is what fails the check.
  expect(first.canary.errors).toBe(5);
  expect(first).toMatchObject({ verdict: 'fail', failures: ['backend-out'] });
  expect(first.reason).toMatch(/^canary backend out of service: mlp\.canary\.127\.0\.0\.1:9202 EJECTED \(ejected for 30 s: 5 consecutive server errors\)/);
  expect(h.ctl.view()).toMatchObject({ state: 'progressing', weight: 50, failedChecks: 1 });

  // Still ejected in the next window (the good backend serves everything): second failed check, rolled back.
  h.intervals(1, 150, healthy());
  const v = h.ctl.view();
  expect(v).toMatchObject({ state: 'rolled-back', weight: 0 });
  expect(v.reason).toMatch(/^2 failed checks \(threshold 2\): canary backend out of service: mlp\.canary\.127\.0\.0\.1:9202 EJECTED/);
  expect(h.ctl.weights()).toEqual({ canary: 0, stable: 100 });
});

it('a backend out for part of a window fails that window even if it is back before the check; the next clean window passes', () => {
  const h = harness({ steps: [10, 50, 100], failureThreshold: 3 });
  h.ctl.canaryBackends(backends('READY', 'READY'));
  h.send(1_000, healthy());
  h.ctl.canaryBackends(backends('READY', 'UNREADY', 'readiness failed: HTTP 503'));
  h.ctl.canaryBackends(backends('READY', 'READY'));
  h.send(1_000, healthy());
  h.clock.advance(h.config.intervalMs);
  expect(h.checks[0]).toMatchObject({ verdict: 'fail', failures: ['backend-out'], backendsOut: [{ id: C2, state: 'UNREADY', reason: 'readiness failed: HTTP 503' }] });
  expect(h.ctl.view().backendsOut).toEqual([]); // back in service: the new window starts clean
  h.intervals(1, 2_000, healthy());
  expect(h.checks[1]?.verdict).toBe('pass');
  expect(h.ctl.view()).toMatchObject({ state: 'progressing', weight: 50, failedChecks: 1 });
});

it.each<[string, BackendState]>([
  ['MISMATCH (wrong model version or checksum)', 'MISMATCH'],
  ['EJECTED', 'EJECTED'],
  ['UNREADY after having served', 'UNREADY'],
  ['LOADING again (restarted) after having served', 'LOADING'],
  ['WARMING again after having served', 'WARMING'],
])('a READY canary backend turning %s fails the check', (_name, state) => {
  const h = harness();
  h.ctl.canaryBackends(backends('READY', 'READY'));
  h.ctl.canaryBackends(backends('READY', state));
  h.intervals(1, 2_000, healthy());
  expect(h.checks[0]).toMatchObject({ verdict: 'fail', failures: ['backend-out'] });
  expect(h.checks[0]?.backendsOut.map((b) => [b.id, b.state])).toEqual([[C2, state]]);
});

it('a canary backend still LOADING when the rollout begins does not fail it, and becoming READY later is fine', () => {
  const h = harness();
  h.ctl.canaryBackends(backends('READY', 'LOADING'));
  expect(h.ctl.view()).toMatchObject({ state: 'progressing', backendsOut: [] });
  h.intervals(1, 2_000, healthy());
  h.ctl.canaryBackends(backends('READY', 'WARMING'));
  h.ctl.canaryBackends(backends('READY', 'READY'));
  h.intervals(2, 2_000, healthy());
  expect(h.checks.map((c) => c.verdict)).toEqual(['pass', 'pass', 'pass']);
  expect(h.ctl.view().state).toBe('promoted');
});

it('a canary backend that is MISMATCH when the rollout begins fails the first check: the deployment of the new version is broken there', () => {
  const h = harness();
  h.ctl.canaryBackends(backends('READY', 'MISMATCH', 'model version "1", expected "2"'));
  h.intervals(1, 2_000, healthy());
  expect(h.checks[0]).toMatchObject({ verdict: 'fail', failures: ['backend-out'] });
  expect(h.checks[0]?.reason).toBe('canary backend out of service: mlp.canary.127.0.0.1:9202 MISMATCH (model version "1", expected "2")');
});

it('an operator drain (or discovery removing a backend) is not a failure', () => {
  const h = harness();
  h.ctl.canaryBackends(backends('READY', 'READY'));
  h.ctl.canaryBackends(backends('READY', 'DRAINING'));
  h.intervals(1, 2_000, healthy());
  expect(h.checks[0]?.verdict).toBe('pass');
});

it('states seen while not progressing do not count: pending, paused, after promotion', () => {
  const h = harness({ start: 'manual' });
  h.ctl.canaryBackends(backends('READY', 'EJECTED'));
  h.ctl.canaryBackends(backends('READY', 'READY'));
  h.ctl.start();
  h.intervals(1, 2_000, healthy());
  expect(h.checks[0]?.verdict).toBe('pass');
  h.ctl.pause();
  h.ctl.canaryBackends(backends('READY', 'UNREADY'));
  h.ctl.canaryBackends(backends('READY', 'READY'));
  h.ctl.resume();
  h.intervals(1, 2_000, healthy());
  expect(h.checks[1]?.verdict).toBe('pass');
});

it('a backend out at the start of a window (still ejected) fails that window too', () => {
  const h = harness({ failureThreshold: 5 });
  h.ctl.canaryBackends(backends('READY', 'READY'));
  h.ctl.canaryBackends(backends('READY', 'EJECTED'));
  h.intervals(3, 2_000, healthy());
  expect(h.checks.map((c) => c.failures)).toEqual([['backend-out'], ['backend-out'], ['backend-out']]);
  expect(h.ctl.view()).toMatchObject({ state: 'progressing', weight: 10, failedChecks: 3 });
});

it('a canary backend held a moment for re-verification (a reset, a 503) and back READY before the check does not fail it; one still held at the check does', () => {
  const h = harness({ steps: [10, 25, 50, 100], intervalMs: 3_000 });
  h.ctl.canaryBackends(backends('READY', 'READY'));
  const held: CanaryBackend[] = [{ id: C1, state: 'READY', reason: 'ready' }, { id: C2, state: 'UNREADY', reason: 're-verifying the backend: connection reset', reverifying: true }];
  h.ctl.canaryBackends(held);
  h.ctl.canaryBackends(backends('READY', 'READY'));
  expect(h.ctl.view().backendsOut).toEqual([]);
  h.intervals(1, 150, healthy());
  expect(h.checks[0]!.failures).not.toContain('backend-out');

  h.ctl.canaryBackends(held);
  h.intervals(1, 150, healthy());
  expect(h.checks.at(-1)).toMatchObject({ verdict: 'fail', failures: ['backend-out'] });
});

// A rollout shared between replicas (coordination/): a follower counts and shows but never decides, the leader judges
// its own window merged with the followers' reports, a take-over keeps the window, adopting a new epoch starts a fresh
// one. All on the manual clock; the etcd side is test/coordination/replicas.process.test.ts.
import { describe, expect, it } from 'vitest';
import { mergeReports, RequestWindow, type WindowReport } from '../../src/rollout/window.js';
import { seededRandom } from '../helpers/manual-clock.js';
import { harness, healthy } from './harness.js';

const none = { canary: [] as WindowReport[], stable: [] as WindowReport[] };

describe('window reports', () => {
  it('a report carries the counts and at most max latencies, drawn from the kept sample', () => {
    const w = new RequestWindow(seededRandom(1), 100);
    for (let i = 0; i < 500; i++) w.record(i % 10 !== 0, i);
    const r = w.report(30);
    expect(r).toMatchObject({ requests: 500, errors: 50, successes: 450 });
    expect(r.latencies).toHaveLength(30);
    expect(new Set(r.latencies).size).toBe(30); // without replacement
  });

  it('merging adds the counts and draws latencies in proportion to the successes each side saw', () => {
    const busy: WindowReport = { requests: 9_000, errors: 0, successes: 9_000, latencies: Array.from({ length: 1000 }, () => 10) };
    const quiet: WindowReport = { requests: 1_000, errors: 100, successes: 900, latencies: Array.from({ length: 900 }, () => 50) };
    const m = mergeReports([busy, quiet], seededRandom(2), 1000);
    expect(m).toMatchObject({ requests: 10_000, errors: 100 });
    expect(m.latencies.length).toBeLessThanOrEqual(1000);
    const slow = m.latencies.filter((x) => x === 50).length;
    // 900 of 9,900 successes were the quiet replica's: about 9 % of the merged sample, not its 47 % of the latencies sent.
    expect(slow / m.latencies.length).toBeGreaterThan(0.07);
    expect(slow / m.latencies.length).toBeLessThan(0.11);
    expect([...m.latencies]).toEqual([...m.latencies].sort((a, b) => a - b));
  });

  it('a side trimmed below its share does not skew the merge: the total shrinks so every side keeps its proportion', () => {
    const fast: WindowReport = { requests: 9_000, errors: 0, successes: 9_000, latencies: Array.from({ length: 1000 }, () => 10) };
    const slow: WindowReport = { requests: 1_000, errors: 0, successes: 1_000, latencies: Array.from({ length: 1000 }, () => 50) };
    const m = mergeReports([fast, slow], seededRandom(3), 2000);
    const share = m.latencies.filter((x) => x === 50).length / m.latencies.length;
    expect(share).toBeCloseTo(0.1, 2);
  });
});

describe('a follower', () => {
  it('never starts, checks or rolls back by itself, but counts its traffic for the leader', () => {
    const h = harness({}, { shared: { leading: false, reports: () => none } });
    h.ctl.canaryReady(true);
    expect(h.ctl.view().state).toBe('pending');
    h.ctl.adopt({ ...h.ctl.snapshot(), state: { name: 'progressing', step: 0, weight: 10, failedChecks: 0 } }, 7);
    expect(h.ctl.view()).toMatchObject({ state: 'progressing', weight: 10 });
    expect(h.ctl.epoch).toBe(7);
    h.intervals(3, 2_000, healthy());
    expect(h.checks).toHaveLength(0);
    expect(h.changes).toHaveLength(0);
    expect(h.ctl.canaryEjected('3 consecutive 5xx')).toBe(false);
    const r = h.ctl.report(1000)!;
    expect(r.epoch).toBe(7);
    expect(r.canary.requests + r.stable.requests).toBe(6_000);
  });

  it('applies an operator action and starts a new window (the lead shares it)', () => {
    const h = harness({}, { shared: { leading: false, epoch: 3, reports: () => none } });
    h.ctl.adopt({ ...h.ctl.snapshot(), state: { name: 'progressing', step: 0, weight: 10, failedChecks: 0 } }, 3);
    expect(h.ctl.pause()).toBe(true);
    expect(h.ctl.resume()).toBe(true);
    expect(h.changes.map((c) => c.to)).toEqual(['paused', 'progressing']);
    expect(h.ctl.epoch).toBe(4);
    h.clock.advance(h.config.intervalMs * 2);
    expect(h.checks).toHaveLength(0); // resumed here, judged by the leader
  });
});

describe('the leader', () => {
  it('judges the followers\' reports with its own window: a check passes on their traffic alone', () => {
    const followers = harness({}, { shared: { leading: false, reports: () => none } });
    followers.ctl.adopt({ ...followers.ctl.snapshot(), state: { name: 'progressing', step: 0, weight: 10, failedChecks: 0 } }, 1);
    const leader = harness({}, { shared: { leading: true, epoch: 1, reports: (epoch) => {
      const r = followers.ctl.report(1000);
      return r === null || r.epoch !== epoch ? none : { canary: [r.canary], stable: [r.stable] };
    } } });
    leader.ctl.adopt(followers.ctl.snapshot(), 1);
    followers.send(2_000, healthy()); // none of it reaches the leader
    leader.clock.advance(leader.config.intervalMs);
    expect(leader.checks).toHaveLength(1);
    expect(leader.checks[0]!.verdict).toBe('pass');
    expect(leader.checks[0]!.canary.requests).toBeGreaterThanOrEqual(50);
    expect(leader.ctl.view()).toMatchObject({ state: 'progressing', weight: 25 });
    // Its decision starts a new window: the followers' old reports no longer count.
    expect(leader.ctl.epoch).toBe(2);
  });

  it('a take-over keeps the window and checks when it was due; a pending rollout with a READY canary starts', () => {
    const h = harness({}, { shared: { leading: false, reports: () => none } });
    h.ctl.adopt({ ...h.ctl.snapshot(), state: { name: 'progressing', step: 0, weight: 10, failedChecks: 0 } }, 5);
    h.send(2_000, healthy());
    h.clock.advance(10_000);
    h.ctl.setLeading(true);
    h.clock.advance(h.config.intervalMs - 10_000 - 1);
    expect(h.checks).toHaveLength(0);
    h.clock.advance(1);
    expect(h.checks).toHaveLength(1);
    expect(h.checks[0]!.canary.requests).toBeGreaterThanOrEqual(50); // counted while following
    expect(h.ctl.view().weight).toBe(25);

    const p = harness({}, { shared: { leading: false, reports: () => none } });
    p.ctl.canaryReady(true);
    expect(p.ctl.view().state).toBe('pending');
    p.ctl.setLeading(true);
    expect(p.ctl.view()).toMatchObject({ state: 'progressing', weight: 10 });
  });

  it('a short loss of the lead (an etcd blip) does not postpone the check; a long one checks at once on return', () => {
    const h = harness({}, { shared: { leading: true, reports: () => none } });
    h.ctl.canaryReady(true);
    h.send(2_000, healthy());
    h.clock.advance(20_000);
    h.ctl.setLeading(false);
    h.clock.advance(1_000);
    h.ctl.setLeading(true);
    h.clock.advance(9_000);
    expect(h.checks).toHaveLength(1); // at 30 s, as if nothing had happened
    h.send(2_000, healthy());
    h.ctl.setLeading(false);
    h.clock.advance(60_000);
    expect(h.checks).toHaveLength(1);
    h.ctl.setLeading(true);
    h.clock.advance(0);
    expect(h.checks).toHaveLength(2);
  });

  it('losing the lead stops the checks; adopting the same epoch keeps the window, a new one clears it', () => {
    const h = harness({}, { shared: { leading: true, reports: () => none } });
    h.ctl.canaryReady(true);
    const epoch = h.ctl.epoch;
    h.send(1_000, healthy());
    h.ctl.setLeading(false);
    h.clock.advance(h.config.intervalMs * 3);
    expect(h.checks).toHaveLength(0);
    h.ctl.adopt(h.ctl.snapshot(), epoch);
    expect(h.ctl.report(1000)!.canary.requests + h.ctl.report(1000)!.stable.requests).toBe(1_000);
    h.ctl.adopt(h.ctl.snapshot(), epoch + 1);
    expect(h.ctl.report(1000)!.canary.requests + h.ctl.report(1000)!.stable.requests).toBe(0);
  });

  it('a held failed check is shared (onRestate) though it is no transition', () => {
    let restated = 0;
    const h = harness({ maxLatencyRatio: 1.2, maxErrorRate: 1, failureThreshold: 3 }, { shared: { leading: true, reports: () => none, onRestate: () => restated++ } });
    h.ctl.canaryReady(true);
    h.intervals(1, 3_000, healthy(60), healthy(20));
    expect(h.checks.at(-1)!.verdict).toBe('fail');
    expect(h.ctl.view()).toMatchObject({ state: 'progressing', failedChecks: 1 });
    expect(restated).toBe(1);
  });
});

describe('a reload', () => {
  it('hands the window and its due time to the new controller: reloads more often than the interval never postpone the check', () => {
    const h = harness();
    h.ctl.canaryReady(true); // the window starts now, its check is due in 30 s
    h.send(2_000, healthy());
    h.clock.advance(20_000);
    const carry = h.ctl.handOver();
    h.ctl.stop();
    const after = harness({}, { clock: h.clock, restored: h.ctl.snapshot(), shared: { epoch: carry.epoch }, carry });
    after.clock.advance(9_999);
    expect(after.checks).toHaveLength(0);
    after.clock.advance(1);
    expect(after.checks).toHaveLength(1);
    expect(after.checks[0]!.canary.requests).toBeGreaterThanOrEqual(50); // counted before the reload
    expect(after.ctl.view().weight).toBe(25);
  });
});

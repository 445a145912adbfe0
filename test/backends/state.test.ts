// Every starting situation x every event of the backend state machine, plus hysteresis and back-off.
import { describe, expect, it } from 'vitest';
import { EVENT_TYPES, initialHealth, step, visibleState, type BackendState, type Health, type HealthEventType, type Policy } from '../../src/backends/state.js';

const policy: Policy = { healthyThreshold: 1, unhealthyThreshold: 1, livenessThreshold: 1, admission: true, warmup: true, warmupBackoffMs: (n) => 1000 * 2 ** (n - 1) };
const fresh = initialHealth(false);
const situations: Record<string, Health> = {
  LOADING: fresh,
  'LOADING (startup not passed)': initialHealth(true),
  'LOADING (warm-up back-off)': { ...fresh, warmupFailures: 1, holdUntil: 500 },
  'LOADING (admitting)': { ...fresh, phase: 'admitting' },
  MISMATCH: { ...fresh, phase: 'mismatch' },
  WARMING: { ...fresh, phase: 'warming' },
  READY: { ...fresh, phase: 'ready', everServed: true },
  'UNREADY (fell out)': { ...fresh, phase: 'loading', everServed: true },
  'UNREADY (liveness)': { ...fresh, phase: 'ready', everServed: true, live: false },
  'UNREADY (startup gave up)': { ...fresh, gaveUp: true },
  EJECTED: { ...fresh, phase: 'ready', everServed: true, ejected: true },
  DRAINING: { ...fresh, phase: 'ready', everServed: true, draining: true },
};

// Expected visible state after each event (now = 0, thresholds 1, admission and warm-up configured).
const expected: Record<string, Record<HealthEventType, BackendState>> = {
  LOADING: {
    'startup-pass': 'LOADING', 'startup-timeout': 'UNREADY', 'readiness-pass': 'LOADING', 'readiness-fail': 'LOADING',
    'liveness-pass': 'LOADING', 'liveness-fail': 'UNREADY', admitted: 'LOADING', mismatch: 'LOADING', 'warmup-done': 'LOADING',
    'warmup-failed': 'LOADING', 'push-ready': 'LOADING', 'push-unready': 'LOADING', drain: 'DRAINING', undrain: 'LOADING', eject: 'LOADING', uneject: 'LOADING', reverify: 'LOADING',
  },
  'LOADING (startup not passed)': {
    'startup-pass': 'LOADING', 'startup-timeout': 'UNREADY', 'readiness-pass': 'LOADING', 'readiness-fail': 'LOADING',
    'liveness-pass': 'LOADING', 'liveness-fail': 'UNREADY', admitted: 'LOADING', mismatch: 'LOADING', 'warmup-done': 'LOADING',
    'warmup-failed': 'LOADING', 'push-ready': 'LOADING', 'push-unready': 'LOADING', drain: 'DRAINING', undrain: 'LOADING', eject: 'LOADING', uneject: 'LOADING', reverify: 'LOADING',
  },
  'LOADING (warm-up back-off)': {
    'startup-pass': 'LOADING', 'startup-timeout': 'UNREADY', 'readiness-pass': 'LOADING', 'readiness-fail': 'LOADING',
    'liveness-pass': 'LOADING', 'liveness-fail': 'UNREADY', admitted: 'LOADING', mismatch: 'LOADING', 'warmup-done': 'LOADING',
    'warmup-failed': 'LOADING', 'push-ready': 'LOADING', 'push-unready': 'LOADING', drain: 'DRAINING', undrain: 'LOADING', eject: 'LOADING', uneject: 'LOADING', reverify: 'LOADING',
  },
  'LOADING (admitting)': {
    'startup-pass': 'LOADING', 'startup-timeout': 'UNREADY', 'readiness-pass': 'LOADING', 'readiness-fail': 'LOADING',
    'liveness-pass': 'LOADING', 'liveness-fail': 'UNREADY', admitted: 'WARMING', mismatch: 'MISMATCH', 'warmup-done': 'LOADING',
    'warmup-failed': 'LOADING', 'push-ready': 'LOADING', 'push-unready': 'LOADING', drain: 'DRAINING', undrain: 'LOADING', eject: 'LOADING', uneject: 'LOADING', reverify: 'LOADING',
  },
  MISMATCH: {
    'startup-pass': 'MISMATCH', 'startup-timeout': 'MISMATCH', 'readiness-pass': 'MISMATCH', 'readiness-fail': 'LOADING',
    'liveness-pass': 'MISMATCH', 'liveness-fail': 'UNREADY', admitted: 'WARMING', mismatch: 'MISMATCH', 'warmup-done': 'MISMATCH',
    'warmup-failed': 'MISMATCH', 'push-ready': 'MISMATCH', 'push-unready': 'LOADING', drain: 'DRAINING', undrain: 'MISMATCH', eject: 'MISMATCH', uneject: 'MISMATCH', reverify: 'MISMATCH',
  },
  WARMING: {
    'startup-pass': 'WARMING', 'startup-timeout': 'WARMING', 'readiness-pass': 'WARMING', 'readiness-fail': 'LOADING',
    'liveness-pass': 'WARMING', 'liveness-fail': 'UNREADY', admitted: 'WARMING', mismatch: 'WARMING', 'warmup-done': 'READY',
    'warmup-failed': 'LOADING', 'push-ready': 'WARMING', 'push-unready': 'LOADING', drain: 'DRAINING', undrain: 'WARMING', eject: 'WARMING', uneject: 'WARMING', reverify: 'LOADING',
  },
  READY: {
    'startup-pass': 'READY', 'startup-timeout': 'READY', 'readiness-pass': 'READY', 'readiness-fail': 'UNREADY',
    'liveness-pass': 'READY', 'liveness-fail': 'UNREADY', admitted: 'READY', mismatch: 'MISMATCH', 'warmup-done': 'READY',
    'warmup-failed': 'READY', 'push-ready': 'READY', 'push-unready': 'UNREADY', drain: 'DRAINING', undrain: 'READY', eject: 'EJECTED', uneject: 'READY', reverify: 'UNREADY',
  },
  'UNREADY (fell out)': {
    'startup-pass': 'UNREADY', 'startup-timeout': 'UNREADY', 'readiness-pass': 'UNREADY', 'readiness-fail': 'UNREADY',
    'liveness-pass': 'UNREADY', 'liveness-fail': 'UNREADY', admitted: 'UNREADY', mismatch: 'UNREADY', 'warmup-done': 'UNREADY',
    'warmup-failed': 'UNREADY', 'push-ready': 'UNREADY', 'push-unready': 'UNREADY', drain: 'DRAINING', undrain: 'UNREADY', eject: 'UNREADY', uneject: 'UNREADY', reverify: 'UNREADY',
  },
  'UNREADY (liveness)': {
    'startup-pass': 'UNREADY', 'startup-timeout': 'UNREADY', 'readiness-pass': 'UNREADY', 'readiness-fail': 'UNREADY',
    'liveness-pass': 'READY', 'liveness-fail': 'UNREADY', admitted: 'UNREADY', mismatch: 'UNREADY', 'warmup-done': 'UNREADY',
    'warmup-failed': 'UNREADY', 'push-ready': 'UNREADY', 'push-unready': 'UNREADY', drain: 'DRAINING', undrain: 'UNREADY', eject: 'UNREADY', uneject: 'UNREADY', reverify: 'UNREADY',
  },
  'UNREADY (startup gave up)': {
    'startup-pass': 'UNREADY', 'startup-timeout': 'UNREADY', 'readiness-pass': 'UNREADY', 'readiness-fail': 'UNREADY',
    'liveness-pass': 'UNREADY', 'liveness-fail': 'UNREADY', admitted: 'UNREADY', mismatch: 'UNREADY', 'warmup-done': 'UNREADY',
    'warmup-failed': 'UNREADY', 'push-ready': 'UNREADY', 'push-unready': 'UNREADY', drain: 'DRAINING', undrain: 'UNREADY', eject: 'UNREADY', uneject: 'UNREADY', reverify: 'UNREADY',
  },
  EJECTED: {
    'startup-pass': 'EJECTED', 'startup-timeout': 'EJECTED', 'readiness-pass': 'EJECTED', 'readiness-fail': 'UNREADY',
    'liveness-pass': 'EJECTED', 'liveness-fail': 'UNREADY', admitted: 'EJECTED', mismatch: 'MISMATCH', 'warmup-done': 'EJECTED',
    'warmup-failed': 'EJECTED', 'push-ready': 'EJECTED', 'push-unready': 'UNREADY', drain: 'DRAINING', undrain: 'EJECTED', eject: 'EJECTED', uneject: 'UNREADY', reverify: 'UNREADY',
  },
  DRAINING: {
    'startup-pass': 'DRAINING', 'startup-timeout': 'DRAINING', 'readiness-pass': 'DRAINING', 'readiness-fail': 'DRAINING',
    'liveness-pass': 'DRAINING', 'liveness-fail': 'DRAINING', admitted: 'DRAINING', mismatch: 'DRAINING', 'warmup-done': 'DRAINING',
    'warmup-failed': 'DRAINING', 'push-ready': 'DRAINING', 'push-unready': 'DRAINING', drain: 'DRAINING', undrain: 'READY', eject: 'DRAINING', uneject: 'DRAINING', reverify: 'DRAINING',
  },
};

describe('every situation x every event', () => {
  for (const [name, h] of Object.entries(situations)) {
    for (const type of EVENT_TYPES) {
      it(`${name} + ${type} -> ${expected[name]![type]}`, () => {
        expect(visibleState(step(h, { type } as never, policy, 0))).toBe(expected[name]![type]);
      });
    }
  }
  it('the table covers every situation and every event', () => {
    expect(Object.keys(expected).sort()).toEqual(Object.keys(situations).sort());
    for (const row of Object.values(expected)) expect(Object.keys(row).sort()).toEqual([...EVENT_TYPES].sort());
  });
});

describe('the road into service', () => {
  it('a fresh backend goes LOADING -> (admission) -> WARMING -> READY and never skips a step', () => {
    let h = fresh;
    h = step(h, { type: 'readiness-pass' }, policy, 0);
    expect(h.phase).toBe('admitting');
    expect(visibleState(h)).toBe('LOADING');
    h = step(h, { type: 'admitted' }, policy, 0);
    expect(visibleState(h)).toBe('WARMING');
    h = step(h, { type: 'warmup-done' }, policy, 0);
    expect(visibleState(h)).toBe('READY');
  });

  it('without admission or warm-up the first readiness pass makes it READY', () => {
    const plain = { ...policy, admission: false, warmup: false };
    expect(visibleState(step(fresh, { type: 'readiness-pass' }, plain, 0))).toBe('READY');
  });

  it('readiness passes are ignored until the startup probe passed', () => {
    let h = initialHealth(true);
    h = step(h, { type: 'readiness-pass' }, policy, 0);
    expect(h.phase).toBe('loading');
    h = step(h, { type: 'startup-pass' }, policy, 0);
    h = step(h, { type: 'readiness-pass' }, policy, 0);
    expect(h.phase).toBe('admitting');
  });

  it('a push to ready still runs admission and warm-up', () => {
    const h = step(initialHealth(true), { type: 'push-ready' }, policy, 0);
    expect(h.phase).toBe('admitting');
    expect(visibleState(h)).toBe('LOADING');
  });

  it('a push to ready never bypasses a failing liveness probe', () => {
    const plain = { ...policy, admission: false, warmup: false };
    let h = step(fresh, { type: 'liveness-fail' }, plain, 0);
    h = step(h, { type: 'push-ready' }, plain, 0);
    expect(visibleState(h)).toBe('UNREADY');
  });

  it('a probe passing never un-ejects; after the ejection the backend comes back through its readiness probe', () => {
    const plain = { ...policy, admission: false, warmup: false };
    let h: Health = { ...fresh, phase: 'ready', everServed: true };
    h = step(h, { type: 'eject' }, plain, 0);
    h = step(h, { type: 'readiness-pass' }, plain, 0);
    expect(visibleState(h)).toBe('EJECTED');
    h = step(h, { type: 'uneject' }, plain, 0);
    expect(visibleState(h)).toBe('UNREADY');
    h = step(h, { type: 'readiness-pass' }, plain, 0);
    expect(visibleState(h)).toBe('READY');
  });

  it('an ejection never forgets readiness: a backend that fell out while ejected stays out after it', () => {
    const plain = { ...policy, admission: false, warmup: false };
    let h: Health = { ...fresh, phase: 'ready', everServed: true };
    h = step(h, { type: 'eject' }, plain, 0);
    h = step(h, { type: 'readiness-fail' }, plain, 0);
    h = step(h, { type: 'uneject' }, plain, 0);
    expect(visibleState(h)).toBe('UNREADY');
    expect(h.phase).toBe('loading');
  });
});

describe('hysteresis', () => {
  const p = { ...policy, healthyThreshold: 2, unhealthyThreshold: 3, livenessThreshold: 2, admission: false, warmup: false };
  const ready: Health = { ...fresh, phase: 'ready', everServed: true };

  it('READY needs unhealthyThreshold consecutive failures; a pass in between resets the count', () => {
    let h = step(step(ready, { type: 'readiness-fail' }, p, 0), { type: 'readiness-fail' }, p, 0);
    expect(visibleState(h)).toBe('READY');
    h = step(h, { type: 'readiness-pass' }, p, 0);
    h = step(step(h, { type: 'readiness-fail' }, p, 0), { type: 'readiness-fail' }, p, 0);
    expect(visibleState(h)).toBe('READY');
    h = step(h, { type: 'readiness-fail' }, p, 0);
    expect(visibleState(h)).toBe('UNREADY');
  });

  it('UNREADY needs healthyThreshold consecutive passes to come back', () => {
    let h: Health = { ...fresh, phase: 'loading', everServed: true };
    h = step(h, { type: 'readiness-pass' }, p, 0);
    expect(visibleState(h)).toBe('UNREADY');
    h = step(h, { type: 'readiness-fail' }, p, 0);
    h = step(h, { type: 'readiness-pass' }, p, 0);
    expect(visibleState(h)).toBe('UNREADY');
    h = step(h, { type: 'readiness-pass' }, p, 0);
    expect(visibleState(h)).toBe('READY');
  });

  it('liveness takes a backend out after livenessThreshold failures and back on one pass', () => {
    let h = step(ready, { type: 'liveness-fail' }, p, 0);
    expect(visibleState(h)).toBe('READY');
    h = step(h, { type: 'liveness-fail' }, p, 0);
    expect(visibleState(h)).toBe('UNREADY');
    expect(visibleState(step(h, { type: 'liveness-pass' }, p, 0))).toBe('READY');
  });
});

describe('warm-up back-off', () => {
  it('a failed warm-up holds the backend in LOADING for a growing back-off, on the injected clock', () => {
    let h: Health = { ...fresh, phase: 'warming' };
    h = step(h, { type: 'warmup-failed' }, policy, 10_000);
    expect(h).toMatchObject({ phase: 'loading', warmupFailures: 1, holdUntil: 11_000 });
    expect(step(h, { type: 'readiness-pass' }, policy, 10_999).phase).toBe('loading');
    h = step(h, { type: 'readiness-pass' }, policy, 11_000);
    expect(h.phase).toBe('admitting');
    h = step(step(h, { type: 'admitted' }, policy, 11_000), { type: 'warmup-failed' }, policy, 12_000);
    expect(h).toMatchObject({ warmupFailures: 2, holdUntil: 14_000 });
    h = step(step(step(h, { type: 'readiness-pass' }, policy, 14_000), { type: 'admitted' }, policy, 14_000), { type: 'warmup-done' }, policy, 14_500);
    expect(h).toMatchObject({ phase: 'ready', warmupFailures: 0, holdUntil: 0 });
  });
});

describe('re-verification after a signal', () => {
  const plain: Policy = { ...policy, admission: true, warmup: false, healthyThreshold: 3 };
  const ready: Health = { ...fresh, phase: 'ready', everServed: true };

  it('a signal takes a READY backend out at once; one readiness pass and a fresh admission bring it back', () => {
    let h = step(ready, { type: 'reverify' }, plain, 0);
    expect(visibleState(h)).toBe('UNREADY');
    expect(h.recheck).toBe(true);
    h = step(h, { type: 'readiness-pass' }, plain, 0);
    expect(h.phase).toBe('admitting');
    h = step(h, { type: 'admitted' }, plain, 0);
    expect(visibleState(h)).toBe('READY');
    expect(h.recheck).toBe(false);
  });

  it('a backend that fell out by readiness failures keeps its full healthyThreshold', () => {
    let h: Health = { ...ready, phase: 'loading' };
    h = step(h, { type: 'reverify' }, plain, 0);
    expect(h.recheck).toBe(false);
    h = step(h, { type: 'readiness-pass' }, plain, 0);
    expect(h.phase).toBe('loading');
  });

  it('the periodic re-check may find another model behind a READY backend: MISMATCH at once', () => {
    expect(visibleState(step(ready, { type: 'mismatch' }, plain, 0))).toBe('MISMATCH');
  });
});

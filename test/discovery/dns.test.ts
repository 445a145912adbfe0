// DnsDiscovery on the injected clock: a look-up at once, then every interval exactly after the last one ended; never two at a time.
import { expect, test } from 'vitest';
import type { DiscoverConfig } from '../../src/config/types.js';
import { DnsDiscovery } from '../../src/discovery/dns.js';
import { ManualClock } from '../helpers/manual-clock.js';

const cfg: DiscoverConfig = { dns: 'models.internal', port: 8000, intervalMs: 5000, scheme: 'http', weight: 1 };

/** A resolver whose look-ups the test answers by hand. */
function manualResolver(): { calls: number; answer(value: string[] | Error): Promise<void>; resolve: (name: string) => Promise<string[]> } {
  let pending: { ok: (a: string[]) => void; fail: (e: Error) => void } | null = null;
  const r = {
    calls: 0,
    async answer(value: string[] | Error): Promise<void> {
      const p = pending;
      if (p === null) throw new Error('no look-up in flight');
      pending = null;
      if (value instanceof Error) p.fail(value);
      else p.ok(value);
      for (let i = 0; i < 5; i++) await Promise.resolve();
    },
    resolve: (name: string): Promise<string[]> => {
      expect(name).toBe('models.internal');
      r.calls++;
      return new Promise((ok, fail) => (pending = { ok, fail }));
    },
  };
  return r;
}

function rig(): { clock: ManualClock; dns: ReturnType<typeof manualResolver>; results: string[][]; errors: string[]; discovery: DnsDiscovery } {
  const clock = new ManualClock();
  const dns = manualResolver();
  const results: string[][] = [];
  const errors: string[] = [];
  const discovery = new DnsDiscovery(cfg, { clock, resolve: dns.resolve, onResult: (o) => results.push(o), onError: (e) => errors.push(e.message) });
  return { clock, dns, results, errors, discovery };
}

test('the first look-up runs at once; results are origins, sorted and deduplicated; the next comes one interval after', async () => {
  const { clock, dns, results, discovery } = rig();
  discovery.start();
  expect(dns.calls).toBe(1);
  await dns.answer(['10.0.0.2', '10.0.0.1', '10.0.0.2', 'fd00::1']);
  expect(results).toEqual([['http://10.0.0.1:8000', 'http://10.0.0.2:8000', 'http://[fd00::1]:8000']]);
  clock.advance(4999);
  expect(dns.calls).toBe(1);
  clock.advance(1);
  expect(dns.calls).toBe(2);
});

test('a slow look-up delays the next one: no two are in flight', async () => {
  const { clock, dns, discovery } = rig();
  discovery.start();
  clock.advance(60_000);
  expect(dns.calls).toBe(1);
  await dns.answer(['10.0.0.1']);
  expect(clock.pending()).toBe(1);
  clock.advance(5000);
  expect(dns.calls).toBe(2);
});

test('a failed look-up is reported and the schedule carries on', async () => {
  const { clock, dns, results, errors, discovery } = rig();
  discovery.start();
  await dns.answer(new Error('SERVFAIL'));
  expect(errors).toEqual(['SERVFAIL']);
  expect(results).toEqual([]);
  clock.advance(5000);
  expect(dns.calls).toBe(2);
});

test('after stop() an answer in flight is dropped and nothing more is looked up', async () => {
  const { clock, dns, results, errors, discovery } = rig();
  discovery.start();
  discovery.stop();
  await dns.answer(['10.0.0.1']);
  expect(results).toEqual([]);
  clock.advance(60_000);
  expect(dns.calls).toBe(1);

  discovery.start();
  expect(dns.calls).toBe(2);
  discovery.stop();
  await dns.answer(new Error('SERVFAIL'));
  expect(errors).toEqual([]);
  expect(clock.pending()).toBe(0);
});

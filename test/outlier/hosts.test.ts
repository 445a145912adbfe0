// Backends coming and going: state kept for those that stay (same object or same id), dropped for the others; stop/start.
import { expect, it } from 'vitest';
import { fail, FakeHost, setup } from './harness.js';

const cfg = { consecutive5xx: 5, consecutiveGatewayErrors: 0, maxEjectionPercent: 50 };

it('keeps the state of backends that stay, by object', () => {
  const { detector, hosts } = setup(cfg, 3);
  fail(detector, hosts[1]!, 3);
  detector.setHosts([hosts[1]!, hosts[2]!, new FakeHost('h9')]);
  expect(detector.view(hosts[1]!).consecutive5xx).toBe(3);
  fail(detector, hosts[1]!, 2);
  expect(detector.isEjected(hosts[1]!)).toBe(true);
});

it('keeps the state of a backend re-created under the same id (reload); the new object gets the callbacks', () => {
  const { clock, detector, hosts, unejections } = setup(cfg, 3);
  fail(detector, hosts[0]!, 5);
  const again = new FakeHost('h0');
  again.ejected = true; // the lead carries the ejected flag over with the rest of the health record
  detector.setHosts([again, hosts[1]!, hosts[2]!]);
  expect(detector.isEjected(again)).toBe(true);
  expect(detector.view(again).ejections).toBe(1);
  clock.advance(30_000);
  expect(unejections.map((u) => u.host)).toEqual([again]);
  // A late response of the old object lands on the same record.
  fail(detector, hosts[0]!, 5);
  expect(detector.isEjected(again)).toBe(true);
});

it('forgets removed backends: timer cancelled, no callback, room freed in the cap', () => {
  const { clock, detector, hosts, ejections, unejections } = setup(cfg, 4);
  const [a, b, c, d] = hosts;
  fail(detector, a!, 5);
  fail(detector, b!, 5);
  expect(clock.pending()).toBe(2);
  detector.setHosts([b!, c!, d!]);
  expect(clock.pending()).toBe(1);
  expect(detector.isEjected(a!)).toBe(false);
  fail(detector, a!, 5); // no longer in the pool: ignored
  // 1 of 3 ejected; a second would be 67% > 50%.
  fail(detector, c!, 5);
  expect(detector.isEjected(c!)).toBe(false);
  clock.advance(30_000);
  expect(unejections.map((u) => u.host.id)).toEqual(['h1']);
  expect(ejections).toHaveLength(2);
});

it('a backend added later starts clean and counts in the cap', () => {
  const { detector, hosts, ejections } = setup(cfg, 2);
  fail(detector, hosts[0]!, 5);
  fail(detector, hosts[1]!, 5); // 2 of 2 would be 100%
  expect(ejections).toHaveLength(1);
  const e = new FakeHost('h2');
  const f = new FakeHost('h3');
  detector.setHosts([...hosts, e, f]);
  expect(detector.view(e)).toMatchObject({ ejected: false, ejections: 0, consecutive5xx: 0 });
  detector.report(hosts[1]!, 'server-error'); // its streak went on; now 2 of 4 = 50% is allowed
  expect(ejections.map((x) => x.host.id)).toEqual(['h0', 'h1']);
});

it('stop() cancels the sweep and the timers and ignores reports; start() re-arms the ejections still due', () => {
  const { clock, detector, hosts, unejections } = setup(cfg, 3);
  detector.start();
  fail(detector, hosts[0]!, 5); // until 30 s
  clock.advance(10_000);
  fail(detector, hosts[1]!, 5); // room at 50% of 3? 2 of 3 = 67%: refused, so eject only h0
  detector.stop();
  expect(clock.pending()).toBe(0);
  fail(detector, hosts[2]!, 5);
  expect(detector.isEjected(hosts[2]!)).toBe(false);
  clock.advance(10_000);
  detector.start(); // at 20 s: h0 has 10 s left
  expect(detector.isEjected(hosts[0]!)).toBe(true);
  clock.advance(10_000);
  expect(unejections.map((u) => [u.host.id, u.at])).toEqual([['h0', 30_000]]);
});

it('start() un-ejects at once what expired while stopped', () => {
  const { clock, detector, hosts, unejections } = setup(cfg, 3);
  fail(detector, hosts[0]!, 5);
  detector.stop();
  clock.advance(60_000);
  expect(detector.isEjected(hosts[0]!)).toBe(true);
  detector.start();
  expect(unejections.map((u) => [u.host.id, u.at])).toEqual([['h0', 60_000]]);
  detector.stop();
});

// client-address.ts: the real client as nginx's realip module finds it with real_ip_recursive on.
import { expect, test } from 'vitest';
import { TrustedProxies } from '../../src/proxy/client-address.js';
import { formatErrors, parseConfig } from '../../src/config/load.js';

const trusted = new TrustedProxies(['10.0.0.0/8', '192.0.2.1', 'fd00::/8']);

test.each([
  // peer, X-Forwarded-For, client
  ['203.0.113.5', undefined, '203.0.113.5'],
  // An untrusted peer is the client, whatever it claims.
  ['203.0.113.5', '1.1.1.1', '203.0.113.5'],
  ['198.51.100.7', '10.0.0.1, 1.1.1.1', '198.51.100.7'],
  // A trusted peer: the right-most address that is not trusted.
  ['10.1.2.3', '198.51.100.20', '198.51.100.20'],
  ['10.1.2.3', '198.51.100.20, 10.9.9.9', '198.51.100.20'],
  ['192.0.2.1', 'spoofed, 198.51.100.20, 10.9.9.9, 10.8.8.8', '198.51.100.20'],
  // Two header lines are one list.
  ['10.1.2.3', ['198.51.100.20', '10.9.9.9'], '198.51.100.20'],
  // Every hop trusted: the left-most.
  ['10.1.2.3', '10.5.5.5, 10.6.6.6', '10.5.5.5'],
  // A trusted peer without the header: itself.
  ['10.1.2.3', undefined, '10.1.2.3'],
  // Garbage stops the walk at the last good address (never a made-up client).
  ['10.1.2.3', '198.51.100.20, not-an-ip', '10.1.2.3'],
  ['10.1.2.3', 'not-an-ip, 10.7.7.7', '10.7.7.7'],
  // Ports and brackets, spaces and empty entries.
  ['10.1.2.3', '198.51.100.20:4711', '198.51.100.20'],
  ['10.1.2.3', '[2001:db8::5]:443', '2001:db8::5'],
  ['10.1.2.3', ' 198.51.100.20 ,, ', '198.51.100.20'],
  // IPv6 peers and entries; an IPv4-mapped peer matches its IPv4 rule.
  ['fd00::1', '2001:db8::9, fd00::2', '2001:db8::9'],
  ['::ffff:10.1.2.3', '198.51.100.20', '198.51.100.20'],
  ['2001:db8::1', '198.51.100.20', '2001:db8::1'],
])('peer %s, X-Forwarded-For %j -> %s', (peer, xff, client) => {
  expect(trusted.clientOf(peer, xff)).toBe(client);
});

test('no trusted proxies (the default): the peer, and nothing is parsed', () => {
  const none = new TrustedProxies([]);
  expect(none.none).toBe(true);
  expect(none.trusts('10.0.0.1')).toBe(false);
  expect(none.clientOf('10.0.0.1', '198.51.100.20')).toBe('10.0.0.1');
});

test('config: trustedProxies defaults to none; an entry that is neither an IP nor a CIDR is an error with its position', () => {
  const ok = parseConfig('trustedProxies: [10.0.0.0/8, 127.0.0.1, "::1", "fd00::/8"]\npools: { p: { backends: [http://127.0.0.1:9] } }\n', 'test.yaml', {});
  expect(ok.ok && ok.config.trustedProxies).toEqual(['10.0.0.0/8', '127.0.0.1', '::1', 'fd00::/8']);
  const bad = parseConfig('trustedProxies: [10.0.0.0/33, lb.internal]\npools: { p: { backends: [http://127.0.0.1:9] } }\n', 'test.yaml', {});
  expect(bad.ok).toBe(false);
  if (bad.ok) return;
  const text = formatErrors(bad.errors);
  expect(text).toContain('test.yaml:1:18: trustedProxies[0]: invalid prefix length in "10.0.0.0/33" (0-32)');
  expect(text).toContain('test.yaml:1:31: trustedProxies[1]: invalid IP address or CIDR "lb.internal"');
});

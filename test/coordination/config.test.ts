// `coordination: { etcd: { endpoints, prefix, lease } }`: off unless written, defaults, and errors at their position.
import { expect, test } from 'vitest';
import { parseConfig } from '../../src/config/load.js';

const pool = 'pools:\n  p:\n    backends: [http://127.0.0.1:9101]\n';

test('without coordination a replica decides alone', () => {
  const r = parseConfig(pool, 'c.yaml', {});
  expect(r.ok && r.config.coordination).toBeNull();
});

test('defaults: prefix /infergate/, lease 10s; a prefix without its slash gets one', () => {
  const r = parseConfig(`coordination: { etcd: { endpoints: [http://etcd:2379] } }\n${pool}`, 'c.yaml', {});
  expect(r.ok && r.config.coordination).toEqual({ etcd: { endpoints: ['http://etcd:2379'], prefix: '/infergate/', leaseMs: 10_000 } });
  const s = parseConfig(`coordination: { etcd: { endpoints: [https://a:2379, https://b:2379], prefix: /fleet-a, lease: 4s } }\n${pool}`, 'c.yaml', {});
  expect(s.ok && s.config.coordination).toEqual({ etcd: { endpoints: ['https://a:2379', 'https://b:2379'], prefix: '/fleet-a/', leaseMs: 4000 } });
});

test.each([
  ['coordination: { etcd: { endpoints: [] } }\n', /^1:\d+ coordination\.etcd\.endpoints: /],
  ['coordination: { etcd: { endpoints: [etcd:2379] } }\n', /^1:\d+ coordination\.etcd\.endpoints\[0\]: invalid etcd endpoint/],
  ['coordination: { etcd: { endpoints: [http://e:2379], lease: 500ms } }\n', /^1:\d+ coordination\.etcd\.lease: must be at least 2000ms/],
  ['coordination: { etcd: { endpoints: [http://e:2379], leader: true } }\n', /^1:\d+ coordination\.etcd/],
  ['coordination: { zookeeper: {} }\n', /^1:\d+ coordination/],
])('%j is an error at its position', (line, message) => {
  const r = parseConfig(line + pool, 'c.yaml', {});
  expect(r.ok).toBe(false);
  if (!r.ok) expect(`${r.errors[0]!.line}:${r.errors[0]!.col} ${r.errors[0]!.message}`).toMatch(message);
});

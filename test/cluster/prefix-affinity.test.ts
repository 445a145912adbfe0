// Cluster with prefix affinity: a request with a prompt key goes where its prefix went before (recorded at the pick,
// whoever picked), within the imbalance gate; retries and the overload thresholds still exclude.
import { describe, expect, it } from 'vitest';
import { yaml } from '../config/helpers.js';
import { cluster, ready, request } from './support.js';

const pool = yaml(
  'pools:', '  p:', '    balance: round-robin', '    backends: [http://127.0.0.1:9101, http://127.0.0.1:9102, http://127.0.0.1:9103]',
  '    affinity: { prefix: { blockSize: 4, maxImbalance: { absolute: 2, relative: 1.5 } } }',
);

const body = (prompt: string): Buffer => Buffer.from(JSON.stringify({ model: 'm', prompt }));

describe('prefix affinity in the cluster', () => {
  it('a miss goes by the balancer and is remembered there; the next request with that prefix is a hit on it', () => {
    const { c, byPort } = cluster(pool);
    for (const p of [9101, 9102, 9103]) ready(byPort(p));
    const affinity = c.affinity!;
    const first = request({ prefix: affinity.keyOf(body('SYSTEM PROMPT: be nice. Q: one')) });
    const to = c.pick(first);
    expect(first.affinity).toBe('miss');
    for (let i = 0; i < 5; i++) {
      const r = request({ prefix: affinity.keyOf(body(`SYSTEM PROMPT: be nice. Q: ${i}`)) });
      expect(c.pick(r)).toBe(to);
      expect(r.affinity).toBe('hit');
      c.report('end', { backend: to as never, status: 200, latencyMs: 1, failure: null });
    }
  });

  it('the gate sends the request elsewhere when the preferred backend is too busy, and that backend learns the prefix', () => {
    const { c, byPort } = cluster(pool);
    for (const p of [9101, 9102, 9103]) ready(byPort(p));
    const key = c.affinity!.keyOf(body('AAAABBBBCCCC'))!;
    const to = c.pick(request({ prefix: key })) as ReturnType<typeof byPort>;
    to.inflight += 3; // 3 + 1 in flight against 0
    const r = request({ prefix: key });
    const other = c.pick(r);
    expect(r.affinity).toBe('gated');
    expect(other).not.toBe(to);
    expect(c.affinity!.remembered((other as typeof to).id)).toBe(3);
  });

  it('a retry never goes back to a backend it tried, whatever its match', () => {
    const { c, byPort } = cluster(pool);
    for (const p of [9101, 9102, 9103]) ready(byPort(p));
    const key = c.affinity!.keyOf(body('AAAABBBBCCCC'))!;
    const to = c.pick(request({ prefix: key })) as ReturnType<typeof byPort>;
    expect(c.pick(request({ prefix: key, tried: [to] }))).not.toBe(to);
  });

  it('a request without a key is picked by the balancer alone', () => {
    const { c, byPort } = cluster(pool);
    for (const p of [9101, 9102, 9103]) ready(byPort(p));
    const r = request();
    expect(c.pick(r)).toBeDefined();
    expect(r.affinity).toBeUndefined();
  });
});

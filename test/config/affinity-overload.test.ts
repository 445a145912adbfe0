// Config of prefix affinity (off unless written) and overload (on, judging only what servers report): defaults,
// normalised shapes, and errors with their position.
import { describe, expect, it } from 'vitest';
import { errors, ok, onePool, yaml } from './helpers.js';

const pool = (...extra: string[]) => yaml('pools:', '  p:', '    backends: [http://127.0.0.1:9101]', ...extra.map((l) => `    ${l}`));

describe('affinity.prefix', () => {
  it('off unless written', () => {
    expect(ok(onePool).pools.get('p')!.affinity).toBeNull();
    expect(ok(pool('affinity: {}')).pools.get('p')!.affinity).toBeNull();
  });

  it('`prefix: {}` turns it on with the defaults', () => {
    expect(ok(pool('affinity: { prefix: {} }')).pools.get('p')!.affinity).toEqual({
      blockChars: 64, maxBlocks: 128, maxBodyBytes: 262144, perBackend: 16384, maxImbalanceAbsolute: 8, maxImbalanceRelative: 1.5, onMiss: 'balancer',
    });
  });

  it('every value can be set', () => {
    expect(ok(pool('affinity: { prefix: { blockSize: 32, maxBlocks: 10, maxBody: 1kb, perBackend: 100, maxImbalance: { absolute: 0, relative: 1 }, onMiss: hash } }')).pools.get('p')!.affinity).toEqual({
      blockChars: 32, maxBlocks: 10, maxBodyBytes: 1024, perBackend: 100, maxImbalanceAbsolute: 0, maxImbalanceRelative: 1, onMiss: 'hash',
    });
  });

  it.each([
    ['blockSize: 0', /test\.yaml:4:\d+: .*blockSize/],
    ['maxImbalance: { relative: 0.5 }', /test\.yaml:4:\d+: .*relative/],
    ['prefixes: 1', /test\.yaml:4:\d+: .*prefixes/],
    ['onMiss: random', /test\.yaml:4:\d+: .*(balancer|onMiss)/],
  ])('%s is refused with its position', (text, message) => {
    expect(errors(pool(`affinity: { prefix: { ${text} } }`)).join('\n')).toMatch(message);
  });
});

describe('overload', () => {
  it('on by default: server queue 5 (acts only where servers report it), KV and in-flight fallback off, low shed', () => {
    const o = ok(onePool).pools.get('p')!.overload!;
    expect({ ...o, shed: [...o.shed] }).toEqual({ queue: 5, kvUsage: 0, inflight: 0, priorityHeader: 'x-infergate-priority', shed: ['low'] });
  });

  it('false turns it off; the header name is lower-cased', () => {
    expect(ok(pool('overload: false')).pools.get('p')!.overload).toBeNull();
    const o = ok(pool('overload: { queue: 0, kvUsage: 0.95, inflight: 64, priority: { header: X-Priority, shed: [batch, low] } }')).pools.get('p')!.overload!;
    expect({ ...o, shed: [...o.shed] }).toEqual({ queue: 0, kvUsage: 0.95, inflight: 64, priorityHeader: 'x-priority', shed: ['batch', 'low'] });
  });

  it.each([
    ['overload: { kvUsage: 1.5 }', /kvUsage/],
    ['overload: { queue: -1 }', /queue/],
    ['overload: true', /overload/],
  ])('%s is refused with its position', (text, message) => {
    const out = errors(pool(text)).join('\n');
    expect(out).toMatch(/test\.yaml:4:\d+:/);
    expect(out).toMatch(message);
  });
});

import { describe, expect, it } from 'vitest';
import { admit, describeMismatches, factsFromPointers, readPointer } from '../../../src/health/metadata.js';
import { model } from './run-probe.js';

// RFC 6901 section 5, verbatim.
const RFC_DOC = { foo: ['bar', 'baz'], '': 0, 'a/b': 1, 'c%d': 2, 'e^f': 3, 'g|h': 4, 'i\\j': 5, 'k"l': 6, ' ': 7, 'm~n': 8 };

describe('readPointer', () => {
  it.each([
    ['', RFC_DOC],
    ['/foo', ['bar', 'baz']],
    ['/foo/0', 'bar'],
    ['/', 0],
    ['/a~1b', 1],
    ['/c%d', 2],
    ['/e^f', 3],
    ['/g|h', 4],
    ['/i\\j', 5],
    ['/k"l', 6],
    ['/ ', 7],
    ['/m~0n', 8],
  ])('resolves the RFC 6901 example %j', (pointer, expected) => {
    expect(readPointer(RFC_DOC, pointer)).toEqual(expected);
  });

  it('unescapes ~01 as "~1", not "/"', () => {
    expect(readPointer({ '~1': 'tilde-one', '/': 'slash' }, '/~01')).toBe('tilde-one');
  });

  it.each(['/foo/2', '/foo/-', '/foo/01', '/foo/x', '/missing', '/foo/0/deeper', 'foo', '/constructor', '/__proto__'])('gives undefined for %j', (pointer) => {
    expect(readPointer(RFC_DOC, pointer)).toBeUndefined();
  });

  it('reads through arrays of objects (TorchServe describe model)', () => {
    expect(readPointer([{ workers: [{ status: 'READY' }] }], '/0/workers/0/status')).toBe('READY');
    expect(readPointer(null, '/a')).toBeUndefined();
    expect(readPointer({ a: null }, '/a')).toBeNull();
  });
});

describe('factsFromPointers', () => {
  it('defaults to /name, /version, then /md5 or /parameters/md5', () => {
    expect(factsFromPointers({ name: 'm', version: 3, md5: 'AA' })).toMatchObject({ name: 'm', version: '3', checksum: 'AA' });
    expect(factsFromPointers({ name: 'm', parameters: { md5: 'BB' } }).checksum).toBe('BB');
    expect(factsFromPointers('not an object')).toMatchObject({ name: null, version: null, checksum: null, raw: 'not an object' });
  });

  it('follows configured pointers and ignores non-scalars', () => {
    const doc = { model: { id: 'x', rev: { n: 2 } }, sums: { md5: 'CC' }, md5: 'DD' };
    const facts = factsFromPointers(doc, { namePointer: '/model/id', versionPointer: '/model/rev', checksumPointer: '/sums/md5' });
    expect(facts).toMatchObject({ name: 'x', version: null, checksum: 'CC' });
  });
});

describe('admit', () => {
  const facts = { name: 'mlp', version: '2', checksum: '55E55E80CF35A77F076AA8DCC2E26E0C', raw: {} };

  it('passes when nothing is configured', () => {
    expect(admit(model(null), { name: null, version: null, checksum: null, raw: null })).toEqual({ ok: true });
  });

  it('compares only configured fields; md5 case-insensitively', () => {
    expect(admit(model('mlp', '2', '55e55e80cf35a77f076aa8dcc2e26e0c'), facts)).toEqual({ ok: true });
    expect(admit(model(null, '2'), facts)).toEqual({ ok: true });
  });

  it('compares versions as strings and lists every mismatch', () => {
    const verdict = admit(model('mlp2', '2.0', 'ffff'), facts);
    expect(verdict).toEqual({
      ok: false,
      mismatches: [
        { field: 'name', expected: 'mlp2', found: 'mlp' },
        { field: 'version', expected: '2.0', found: '2' },
        { field: 'md5', expected: 'ffff', found: '55E55E80CF35A77F076AA8DCC2E26E0C' },
      ],
    });
    expect(describeMismatches(verdict.ok ? [] : verdict.mismatches)).toBe('name: expected "mlp2", found "mlp"; version: expected "2.0", found "2"; md5: expected "ffff", found "55E55E80CF35A77F076AA8DCC2E26E0C"');
  });

  it('treats a missing fact as a mismatch with found null', () => {
    expect(admit(model(null, null, 'aa'), { name: 'x', version: null, checksum: null, raw: {} })).toEqual({ ok: false, mismatches: [{ field: 'md5', expected: 'aa', found: null }] });
    expect(describeMismatches([{ field: 'md5', expected: 'aa', found: null }])).toBe('md5: expected "aa", found nothing');
  });
});

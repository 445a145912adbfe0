// request-id.ts: keep a sane client id, otherwise make a fresh one.
import { expect, test } from 'vitest';
import { freshRequestId, requestIdFor } from '../../src/proxy/request-id.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('a printable client id up to 200 characters is kept', () => {
  expect(requestIdFor('abc-123_x.y:z')).toBe('abc-123_x.y:z');
  expect(requestIdFor('x'.repeat(200))).toBe('x'.repeat(200));
});

test.each([
  ['missing', undefined],
  ['empty', ''],
  ['too long', 'x'.repeat(201)],
  ['with a space', 'a b'],
  ['with a control character', 'a\tb'],
  ['non-ASCII', 'idé'],
  ['sent twice', ['a', 'b']],
])('%s: a fresh UUID', (_name, header) => {
  expect(requestIdFor(header)).toMatch(UUID);
});

test('fresh ids differ', () => {
  expect(requestIdFor(undefined)).not.toBe(requestIdFor(undefined));
});

test('many fresh ids are all distinct, UUID-shaped and share the per-process prefix', () => {
  const ids = Array.from({ length: 20_000 }, () => freshRequestId());
  expect(new Set(ids).size).toBe(ids.length);
  for (const id of ids) expect(id).toMatch(UUID);
  // The sequence lives in the last 12 hex digits, after a random per-process prefix.
  expect(new Set(ids.map((id) => id.slice(0, 24))).size).toBe(1);
  const seq = ids.map((id) => parseInt(id.slice(24), 16));
  for (let i = 1; i < seq.length; i++) expect(seq[i]).toBe(seq[i - 1]! + 1);
});

// The canary analysis's statistics against reference values (SciPy 1.17: mannwhitneyu asymptotic with continuity, hypergeom and binom mid-p).
import { expect, it } from 'vitest';
import { binomialMidP, countAtLeast, fisherMidP, lnChoose, lnGamma, mannWhitney, normalUpper, quantileOf, wilson } from '../../src/rollout/stats.js';

it('lnGamma and lnChoose', () => {
  expect(lnGamma(5)).toBeCloseTo(Math.log(24), 12);
  expect(lnGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 12);
  expect(lnChoose(10, 3)).toBeCloseTo(Math.log(120), 12);
  expect(lnChoose(100_000, 50_000)).toBeCloseTo(69_308.73579940922, 6); // scipy.special.gammaln
});

it.each([
  [0, 0.5],
  [1.96, 0.024997895148220435],
  [2.326, 0.010009275340867669],
  [-1, 0.8413447460685429],
])('normalUpper(%d)', (z, p) => {
  expect(normalUpper(z)).toBeCloseTo(p, 6);
});

it.each([
  // a of nA against b of nB -> one-sided mid-p that A's share is larger
  ['Fisher\'s tea: 3 of 4 against 1 of 4', 3, 4, 1, 4, 0.12857142857142856],
  ['3 of 100 against 0 of 1,000', 3, 100, 0, 1000, 0.00036545891197661064],
  ['5 of 62 against 0 of 214', 5, 62, 0, 214, 0.0002514194631076293],
  ['1 of 55 against 1 of 509', 1, 55, 1, 509, 0.09751773049645389],
  ['far in the upper tail', 400, 1000, 100, 1000, 3.920195965808404e-57],
  ['far in the lower tail', 0, 1000, 300, 1000, 1],
])('fisherMidP: %s', (_name, a, nA, b, nB, p) => {
  const got = fisherMidP(a, nA, b, nB);
  if (p < 1e-10) expect(got).toBeLessThan(1e-50);
  else expect(got).toBeCloseTo(p, 9);
});

it('fisherMidP without any event, or without a side, is no evidence', () => {
  expect(fisherMidP(0, 100, 0, 100)).toBe(1);
  expect(fisherMidP(5, 5, 0, 0)).toBe(1);
  expect(fisherMidP(100, 100, 100, 100)).toBe(1);
});

it.each([
  [2, 10, 0.1, 0.16704594865000005],
  [10, 20, 0.05, 5.939339059664377e-9],
  [6, 100, 0.05, 0.3089934440145137],
  [0, 50, 0.05, 0.9615275123616434],
])('binomialMidP(%d of %d above %d)', (x, n, p0, p) => {
  expect(binomialMidP(x, n, p0)).toBeCloseTo(p, 10);
});

it('binomialMidP at the edges: a rate above 0 is proven by one error; nothing is above 1', () => {
  expect(binomialMidP(1, 10, 0)).toBe(0);
  expect(binomialMidP(0, 10, 0)).toBe(0.5);
  expect(binomialMidP(9, 10, 1)).toBe(1);
  expect(binomialMidP(0, 0, 0.05)).toBe(1);
});

it.each([
  ['fully separated', [4, 5, 6], [1, 2, 3], 9, 0.04042779918502612],
  ['with ties', [1, 2, 2, 3, 5], [1, 1, 2, 4], 13, 0.26308423887807164],
  ['shifted by 10 of 50', Array.from({ length: 50 }, (_, i) => i + 10), Array.from({ length: 50 }, (_, i) => i), 1700, 0.0009704033536295778],
])('mannWhitney: %s', (_name, a, b, u, p) => {
  const r = mannWhitney(Float64Array.from(a), Float64Array.from(b));
  expect(r.u).toBe(u);
  expect(r.pValue).toBeCloseTo(p, 6);
  expect(r.probabilitySlower).toBeCloseTo(u / (a.length * b.length), 12);
});

it('mannWhitney: the slower side is b, or all values equal, or a side empty: no evidence that a is slower', () => {
  expect(mannWhitney(Float64Array.from([1, 2, 3]), Float64Array.from([4, 5, 6])).pValue).toBeGreaterThan(0.9);
  expect(mannWhitney(Float64Array.from([5, 5, 5]), Float64Array.from([5, 5])).pValue).toBe(1);
  expect(mannWhitney(new Float64Array(0), Float64Array.from([1])).pValue).toBe(1);
});

it('wilson bounds stay inside 0..1 and mean something at 0 events', () => {
  expect(wilson(0, 10, 1.96)).toEqual({ lower: 0, upper: expect.closeTo(0.2775401687666165, 12) });
  const w = wilson(3, 100, 0.8416);
  expect(w.lower).toBeCloseTo(0.018622582190824362, 10);
  expect(w.upper).toBeCloseTo(0.04798852323751506, 10);
  expect(wilson(10, 10, 1.96).upper).toBe(1);
});

it('quantileOf is nearest-rank; countAtLeast counts values at or above', () => {
  const s = Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  expect(quantileOf(s, 0.5)).toBe(5);
  expect(quantileOf(s, 0.95)).toBe(10);
  expect(quantileOf(new Float64Array(0), 0.5)).toBeNull();
  expect(countAtLeast(s, 5)).toBe(6);
  expect(countAtLeast(s, 0)).toBe(10);
  expect(countAtLeast(s, 10.5)).toBe(0);
  expect(countAtLeast(Float64Array.from([1, 2, 2, 2]), 2)).toBe(3);
});

// The statistical tests the canary analysis uses: one-sided p-values (Mann–Whitney U, Fisher's exact, binomial) and quantiles, pure.
//
// Every p-value here answers "how likely is a canary at least this much worse than the baseline, if it were in truth no
// worse?" (one-sided). The discrete tests return the mid-p value (P(X > x) + ½·P(X = x)), whose size is close to the
// nominal level where the plain exact test is conservative at the small counts of an early canary step.

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; relative error ~1e-15). */
export function lnGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  const g = 7;
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
    -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  const z = x - 1;
  let a = c[0]!;
  const t = z + g + 0.5;
  for (let i = 1; i < g + 2; i++) a += c[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** ln C(n, k). */
export function lnChoose(n: number, k: number): number {
  return lnGamma(n + 1) - lnGamma(k + 1) - lnGamma(n - k + 1);
}

/** P(Z >= z) for a standard normal Z (Chebyshev fit of erfc, fractional error < 1.2e-7). */
export function normalUpper(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * x);
  const erfc =
    t *
    Math.exp(
      -x * x - 1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return z >= 0 ? erfc / 2 : 1 - erfc / 2;
}

/**
 * Mid-p upper tail of a discrete distribution given by its support [lo, hi], its mode, ln pmf at one point and the
 * ratio pmf(k + 1) / pmf(k). Sums away from the mode only (terms shrink), so a tail far out underflows to 0 or 1 correctly.
 */
function upperMidP(x: number, lo: number, hi: number, mode: number, lnPmf: (k: number) => number, next: (k: number) => number): number {
  if (x < lo) return 1;
  if (x > hi) return 0;
  const px = Math.exp(lnPmf(x));
  if (x >= mode) {
    // P(X > x): walk up from x.
    let term = px;
    let sum = 0;
    for (let k = x; k < hi; k++) {
      term *= next(k);
      sum += term;
      if (term <= sum * 1e-17) break;
    }
    return Math.min(1, sum + px / 2);
  }
  // Below the mode the upper tail is large: 1 - P(X < x) - ½·P(X = x), walking down from x.
  let term = px;
  let sum = 0;
  for (let k = x; k > lo; k--) {
    term /= next(k - 1);
    sum += term;
    if (term <= sum * 1e-17) break;
  }
  return Math.max(0, 1 - sum - px / 2);
}

/**
 * Fisher's exact test, one-sided, mid-p: evidence that group A's share of "events" (a of nA) is larger than group B's
 * (b of nB). Conditional on the margins the count in A is hypergeometric.
 */
export function fisherMidP(a: number, nA: number, b: number, nB: number): number {
  const n = nA + nB;
  const k = a + b;
  if (nA === 0 || nB === 0 || k === 0 || k === n) return 1;
  const lo = Math.max(0, nA - (n - k));
  const hi = Math.min(nA, k);
  const mode = Math.floor(((nA + 1) * (k + 1)) / (n + 2));
  const lnAll = lnChoose(n, nA);
  return upperMidP(
    a,
    lo,
    hi,
    mode,
    (x) => lnChoose(k, x) + lnChoose(n - k, nA - x) - lnAll,
    (x) => ((k - x) * (nA - x)) / ((x + 1) * (n - k - nA + x + 1)),
  );
}

/** One-sided binomial test, mid-p: evidence that x events in n trials come from a rate above p0. */
export function binomialMidP(x: number, n: number, p0: number): number {
  if (n === 0) return 1;
  if (p0 <= 0) return x > 0 ? 0 : 0.5;
  if (p0 >= 1) return x >= n ? 0.5 : 1;
  const odds = p0 / (1 - p0);
  return upperMidP(
    x,
    0,
    n,
    Math.floor((n + 1) * p0),
    (k) => lnChoose(n, k) + k * Math.log(p0) + (n - k) * Math.log1p(-p0),
    (k) => ((n - k) / (k + 1)) * odds,
  );
}

export interface MannWhitneyResult {
  /** U of the canary sample: pairs (canary, stable) with the canary slower, ties counted ½. */
  u: number;
  /** Normal approximation with tie and continuity corrections. */
  z: number;
  /** One-sided: evidence that canary latencies tend to be larger than stable's. */
  pValue: number;
  /** U / (n1·n2): the probability that a canary request is slower than a stable one (0.5 = no difference). */
  probabilitySlower: number;
}

/**
 * Mann–Whitney U (Wilcoxon rank-sum) test of two ascending-sorted samples, one-sided (`a` larger than `b`), the test
 * Kayenta's judge runs on canary against baseline. Ranks come from one merge of the sorted arrays: O(n1 + n2).
 */
export function mannWhitney(a: ArrayLike<number>, b: ArrayLike<number>): MannWhitneyResult {
  const n1 = a.length;
  const n2 = b.length;
  if (n1 === 0 || n2 === 0) return { u: 0, z: 0, pValue: 1, probabilitySlower: 0.5 };
  let i = 0;
  let j = 0;
  let rank = 0;
  let rankSumA = 0;
  let ties = 0;
  while (i < n1 || j < n2) {
    const v = Math.min(i < n1 ? a[i]! : Infinity, j < n2 ? b[j]! : Infinity);
    let ta = 0;
    let tb = 0;
    while (i < n1 && a[i] === v) {
      ta++;
      i++;
    }
    while (j < n2 && b[j] === v) {
      tb++;
      j++;
    }
    const t = ta + tb;
    rankSumA += ta * (rank + (t + 1) / 2);
    rank += t;
    ties += t * t * t - t;
  }
  const u = rankSumA - (n1 * (n1 + 1)) / 2;
  const n = n1 + n2;
  const mean = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - ties / (n * (n - 1)));
  const probabilitySlower = u / (n1 * n2);
  if (variance <= 0) return { u, z: 0, pValue: 1, probabilitySlower };
  const z = (u - mean - 0.5) / Math.sqrt(variance);
  return { u, z, pValue: normalUpper(z), probabilitySlower };
}

/** Nearest-rank quantile q of an ascending-sorted sample; null when empty. */
export function quantileOf(sorted: ArrayLike<number>, q: number): number | null {
  const n = sorted.length;
  if (n === 0) return null;
  const rank = Math.min(n, Math.max(1, Math.ceil(q * n)));
  return sorted[rank - 1] ?? null;
}

/** How many values of an ascending-sorted sample are at or above v. */
export function countAtLeast(sorted: ArrayLike<number>, v: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return sorted.length - lo;
}

/** Wilson score interval of a proportion x / n at normal quantile z: the bounds stay inside 0..1 and mean something at x = 0. */
export function wilson(x: number, n: number, z: number): { lower: number; upper: number } {
  if (n === 0) return { lower: 0, upper: 1 };
  const p = x / n;
  const z2 = z * z;
  const centre = p + z2 / (2 * n);
  const spread = z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  const d = 1 + z2 / n;
  return { lower: x === 0 ? 0 : Math.max(0, (centre - spread) / d), upper: x === n ? 1 : Math.min(1, (centre + spread) / d) };
}

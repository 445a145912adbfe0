// Ejection policy as pure functions: how long the n-th ejection lasts, and whether a pool may lose one more backend.

/** The n-th ejection lasts base x n, capped at max (a max below base is raised to base, as Envoy does). */
export function ejectionDurationMs(baseMs: number, maxMs: number, multiplier: number): number {
  return Math.min(baseMs * multiplier, Math.max(baseMs, maxMs));
}

/** The multiplier stops growing once base x n reaches the cap, so decay from the cap takes a bounded time. */
export function maxMultiplier(baseMs: number, maxMs: number): number {
  return Math.max(1, Math.ceil(Math.max(baseMs, maxMs) / baseMs));
}

/**
 * May one more backend of a pool of `total` be ejected while `ejected` already are?
 * Allowed when the share after ejecting stays within maxPercent, and one backend always may be (unless maxPercent
 * is 0): without that, Envoy's default 10% could never eject anything in a pool of fewer than 10 backends.
 * Returns null when allowed, otherwise the reason for skipping.
 */
export function capRefusal(ejected: number, total: number, maxPercent: number): string | null {
  if (maxPercent <= 0) return 'maxEjectionPercent is 0';
  if (ejected === 0) return null;
  if ((100 * (ejected + 1)) / total <= maxPercent) return null;
  return `maxEjectionPercent ${maxPercent}% reached (${ejected} of ${total} backends ejected)`;
}

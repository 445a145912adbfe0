// Slow start: a backend's share ramps linearly from a floor to full over a window that starts when it became READY.

/** Share of its weight a backend gets at the very start of its window (never 0: it must get some traffic to warm). */
export const SLOW_START_FLOOR = 0.1;

export function rampFactor(elapsedMs: number, windowMs: number): number {
  if (windowMs <= 0 || elapsedMs >= windowMs) return 1;
  return Math.max(SLOW_START_FLOOR, elapsedMs / windowMs);
}

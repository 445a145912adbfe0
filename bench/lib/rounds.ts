/**
 * Interleaved rounds as `small` measures them, for any load function: every row runs once per round (warm-up run
 * discarded, then the measured run with the CPU its process tree spent), rows in turn, so a noisy minute on the shared
 * machine hurts every row rather than one. The best round by throughput is kept; CPU per unit is the lowest over rounds.
 */
import { cpuMs } from './cpu.ts';
import { round } from './report.ts';

export interface Row<R> {
  readonly key: string;
  readonly label: string;
  /** Process whose CPU is charged to this row (the proxy; the backend for direct); undefined = not measured. */
  readonly pid: number | undefined;
  /** A discarded warm-up run; defaults to `measure`. */
  readonly warmUp?: () => Promise<unknown>;
  readonly measure: () => Promise<R>;
}

export type Measured<R> = R & { cpuUsPerUnit: number | null };

export interface RowResult<R> {
  key: string;
  label: string;
  best: Measured<R>;
  rounds: Measured<R>[];
  /** Lowest CPU µs per unit (request, message, connection) over the rounds. */
  cpuUsPerUnit: number | null;
}

export async function runRounds<R>(
  scenario: string,
  rows: readonly Row<R>[],
  rounds: number,
  throughput: (r: R) => number,
  units: (r: R) => number,
): Promise<RowResult<R>[]> {
  const perRow = new Map<string, Measured<R>[]>();
  for (let r = 1; r <= rounds; r += 1) {
    for (const row of rows) {
      process.stderr.write(`[bench] ${scenario} round ${r}/${rounds}: ${row.label}\n`);
      await (row.warmUp ?? row.measure)();
      const before = row.pid === undefined ? undefined : cpuMs(row.pid);
      const result = await row.measure();
      const after = row.pid === undefined ? undefined : cpuMs(row.pid);
      const count = units(result);
      const cpuUsPerUnit = before === undefined || after === undefined || count === 0 ? null : round(((after - before) * 1000) / count, 1);
      perRow.set(row.key, [...(perRow.get(row.key) ?? []), { ...result, cpuUsPerUnit }]);
    }
  }
  return rows.map((row) => {
    const runs = perRow.get(row.key) ?? [];
    const best = runs.reduce((a, b) => (throughput(b) > throughput(a) ? b : a));
    const cpus = runs.map((run) => run.cpuUsPerUnit).filter((v): v is number => v !== null);
    return { key: row.key, label: row.label, best, rounds: runs, cpuUsPerUnit: cpus.length === 0 ? null : Math.min(...cpus) };
  });
}

/** a / b rounded, or null when either is missing or b is 0. */
export function ratioOf(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a === null || a === undefined || b === null || b === undefined || b === 0 || !Number.isFinite(a) || !Number.isFinite(b)) return null;
  return round(a / b);
}

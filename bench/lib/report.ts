/** Output of a scenario: markdown tables on stdout, JSON files in bench/results/, and small number helpers. */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MachineInfo } from './machine.ts';

export const RESULTS_DIR = join(dirname(dirname(fileURLToPath(import.meta.url))), 'results');

export interface ScenarioReport {
  scenario: string;
  startedAt: string;
  finishedAt: string;
  machine: MachineInfo;
  parameters: Record<string, unknown>;
  method: string;
  results: unknown;
  notes: string[];
}

export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/**
 * Writes `<scenario>-<timestamp>.json` and, unless only some targets ran (BENCH_TARGETS), a baseline build ran
 * alongside (BENCH_BASELINE_CLI) or the scenario says it ran only in part (`partial`), `latest-<scenario>.json`;
 * returns the timestamped path.
 */
export async function writeReport(report: ScenarioReport, opts: { partial?: boolean } = {}): Promise<string> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const stamp = report.startedAt.replace(/[:.]/g, '-');
  const text = `${JSON.stringify(report, null, 2)}\n`;
  const path = join(RESULTS_DIR, `${report.scenario}-${stamp}.json`);
  await writeFile(path, text);
  const partial = opts.partial === true || (process.env.BENCH_TARGETS ?? '').trim() !== '' || (process.env.BENCH_BASELINE_CLI ?? '').trim() !== '';
  if (!partial) await writeFile(join(RESULTS_DIR, `latest-${report.scenario}.json`), text);
  return path;
}

export function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got ${raw}`);
  return value;
}

export function fixed(value: number, digits = 2): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}

export function round(value: number, digits = 3): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** Nearest-rank percentile of a list of samples (p in 0..100). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

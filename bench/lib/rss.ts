/** Samples a process's resident set size from /proc/<pid>/status at a fixed interval, tagged with the current phase. */
import { readFileSync } from 'node:fs';

export interface RssSample {
  tMs: number;
  rssMB: number;
  phase: string;
}

export interface RssSampler {
  setPhase(phase: string): void;
  samples(): readonly RssSample[];
  stop(): RssSample[];
}

export function readRssMB(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match?.[1] === undefined ? undefined : Number(match[1]) / 1024;
  } catch {
    return undefined; // process gone, or no /proc (not Linux)
  }
}

export function sampleRss(pid: number, intervalMs = 100): RssSampler {
  const start = Date.now();
  const samples: RssSample[] = [];
  let phase = 'idle';
  const take = (): void => {
    const rssMB = readRssMB(pid);
    if (rssMB !== undefined) samples.push({ tMs: Date.now() - start, rssMB: Math.round(rssMB * 10) / 10, phase });
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    setPhase(next) {
      take();
      phase = next;
    },
    samples: () => samples,
    stop() {
      clearInterval(timer);
      take();
      return samples;
    },
  };
}

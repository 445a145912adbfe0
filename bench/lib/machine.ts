/** Describes the machine a result came from, so numbers from different runs are never compared blindly. */
import os from 'node:os';
import { nginxVersion } from './targets.ts';

export interface MachineInfo {
  cpuModel: string;
  cpus: number;
  totalMemMB: number;
  platform: string;
  kernel: string;
  node: string;
  nginx: string | null;
  loadAverageAtStart: number[];
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cpus: os.availableParallelism(),
    totalMemMB: Math.round(os.totalmem() / 2 ** 20),
    platform: `${os.platform()} ${os.arch()}`,
    kernel: os.release(),
    node: process.version,
    nginx: nginxVersion() ?? null,
    loadAverageAtStart: os.loadavg().map((n) => Math.round(n * 100) / 100),
  };
}

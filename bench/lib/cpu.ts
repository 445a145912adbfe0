/** CPU time used by a process and its descendants (nginx workers), from /proc; steadier than req/s on a busy machine. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

function childrenOf(pid: number): number[] {
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return text === '' ? [] : text.split(/\s+/).map(Number);
  } catch {
    return [];
  }
}

function ownTicks(pid: number): number {
  const [user, sys] = ownUserSys(pid);
  return user + sys;
}

/** [utime, stime] in clock ticks. */
function ownUserSys(pid: number): [number, number] {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15 of the whole line.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return [Number(fields[11]), Number(fields[12])];
  } catch {
    return [0, 0];
  }
}

/** User and system CPU milliseconds of `pid` and its live descendants, or undefined without /proc. */
export function cpuSplitMs(pid: number): { userMs: number; sysMs: number } | undefined {
  try {
    readFileSync(`/proc/${pid}/stat`);
  } catch {
    return undefined;
  }
  let user = 0;
  let sys = 0;
  const queue = [pid];
  for (let i = 0; i < queue.length && i < 64; i += 1) {
    const current = queue[i] ?? pid;
    const [u, s] = ownUserSys(current);
    user += u;
    sys += s;
    queue.push(...childrenOf(current));
  }
  return { userMs: (user * 1000) / clockTicks(), sysMs: (sys * 1000) / clockTicks() };
}

/** User + system CPU milliseconds of `pid` and its live descendants, or undefined without /proc. */
export function cpuMs(pid: number): number | undefined {
  try {
    readFileSync(`/proc/${pid}/stat`);
  } catch {
    return undefined;
  }
  let ticks = 0;
  const queue = [pid];
  for (let i = 0; i < queue.length && i < 64; i += 1) {
    const current = queue[i] ?? pid;
    ticks += ownTicks(current);
    queue.push(...childrenOf(current));
  }
  return (ticks * 1000) / clockTicks();
}

/** Starts the peers backend and the given targets, prints their URLs and pids, and holds them until stdin closes (manual profiling, strace). */
import { startNginxBackend, startTargets, stopTargets, type TargetName } from '../lib/targets.ts';
import { stopAll } from '../lib/children.ts';

const names = process.argv.slice(2) as TargetName[];
const backend = await startNginxBackend(JSON.stringify({ model: 'bench', version: '1', outputs: [0.12, 0.34, 0.56, 0.78], ok: true }));
const { running, skipped } = await startTargets(names, backend);
for (const t of running) console.log(`${t.name} ${t.url} pid=${t.pid}`);
for (const s of skipped) console.log(`${s.name} skipped: ${s.skipped}`);
console.log('ready');
const stop = async (): Promise<void> => {
  await stopTargets(running);
  await backend.stop();
  await stopAll();
  process.exit(0);
};
process.stdin.on('end', () => void stop());
process.stdin.resume();
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());

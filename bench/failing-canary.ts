/** Standalone entry of the failing-canary scenario (`node bench/failing-canary.ts`): runs it and guarantees every child process is stopped. */
import { stopAll } from './lib/children.ts';
import { runFailingCanary } from './scenarios/failing-canary.ts';

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\n[bench] ${signal}: stopping child processes\n`);
    void stopAll().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  });
}

try {
  await runFailingCanary();
} catch (error) {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
} finally {
  await stopAll();
}

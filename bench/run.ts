/** Entry point of `npm run bench`: runs the selected scenarios (default all) and guarantees every child process is stopped. */
import { stopAll } from './lib/children.ts';
import { runGrpc } from './scenarios/grpc.ts';
import { runH2 } from './scenarios/h2.ts';
import { runFailingCanary } from './scenarios/failing-canary.ts';
import { runGrowth } from './scenarios/growth.ts';
import { runLargeBody } from './scenarios/large-body.ts';
import { runLlm } from './scenarios/llm.ts';
import { runPeers } from './scenarios/peers.ts';
import { runRestartInPlace } from './scenarios/restart-in-place.ts';
import { runRollingRestart } from './scenarios/rolling-restart.ts';
import { runScaleUp } from './scenarios/scale-up.ts';
import { runSmall } from './scenarios/small.ts';
import { runTls } from './scenarios/tls.ts';
import { runStreaming } from './scenarios/streaming.ts';

const SCENARIOS: Record<string, () => Promise<void>> = {
  small: runSmall,
  streaming: runStreaming,
  'large-body': runLargeBody,
  'scale-up': runScaleUp,
  'rolling-restart': runRollingRestart,
  'failing-canary': runFailingCanary,
  'restart-in-place': runRestartInPlace,
  h2: runH2,
  grpc: runGrpc,
  tls: runTls,
  growth: runGrowth,
};
// Not in the default `npm run bench` list: they need nginx and HAProxy (peers: wrk; llm: python3 with numpy for its
// second part) and run ~5-8 min each on their own.
const EXTRA: Record<string, () => Promise<void>> = { peers: runPeers, llm: runLlm };

// --quick: a smoke run (shorter runs, one round) for the scenarios that read it (llm).
const args = process.argv.slice(2);
if (args.includes('--quick')) process.env.BENCH_QUICK = '1';
const wanted = args.filter((arg) => arg !== '--quick');
const unknown = wanted.filter((name) => !(name in SCENARIOS) && !(name in EXTRA));
if (unknown.length > 0) {
  console.error(`unknown scenario(s): ${unknown.join(', ')}; choose from ${[...Object.keys(SCENARIOS), ...Object.keys(EXTRA)].join(', ')}`);
  process.exit(2);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\n[bench] ${signal}: stopping child processes\n`);
    void stopAll().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  });
}

try {
  for (const name of wanted.length > 0 ? wanted : Object.keys(SCENARIOS)) {
    const run = SCENARIOS[name] ?? EXTRA[name];
    if (run !== undefined) await run();
  }
} catch (error) {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
} finally {
  await stopAll();
}

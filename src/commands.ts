// Commands (run, check, demo, --version, --help) and their signals; src/cli.ts loads this after checking the Node version.
import { parseArgs } from 'node:util';
import { waitForSignals } from './signals.js';
import { formatErrors, loadConfigFile } from './config/load.js';
import { VERSION } from './version.js';

const HELP = `infergate ${VERSION} - a load balancer for ML inference servers

Usage:
  infergate [--config FILE]           run (default config: config/infergate.yaml)
  infergate check [--config FILE]     validate the configuration: "configuration OK" and exit 0, or exit 1 with
                                      file:line:col errors on stderr; -q prints nothing when valid
  infergate check --dump [--config FILE]
                                      validate, then print the effective configuration (defaults filled in,
                                      secrets redacted) as YAML
  infergate demo                      start demo model servers and the balancer in front of them
  infergate --version                 print the version
  infergate --help                    this text

Signals: SIGHUP reloads the configuration (an invalid one is refused and the old one keeps serving);
SIGUSR1 reopens the access log file (logrotate's postrotate);
SIGTERM keeps accepting for shutdown.grace (5s; /readyz 503), then drains in-flight requests (up to
shutdown.drainTimeout) and exits 0; SIGINT drains at once.
`;

const DEFAULT_CONFIG = 'config/infergate.yaml';

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        version: { type: 'boolean', short: 'v' },
        help: { type: 'boolean', short: 'h' },
        quiet: { type: 'boolean', short: 'q' },
        dump: { type: 'boolean' },
      },
    });
  } catch (err) {
    process.stderr.write(`infergate: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`infergate ${VERSION}\n`);
    return 0;
  }
  const command = positionals[0] ?? 'run';
  if (positionals.length > 1) {
    process.stderr.write(`infergate: unexpected argument "${positionals[1]}"\n\n${HELP}`);
    return 2;
  }
  const file = values.config ?? DEFAULT_CONFIG;
  if ((values.quiet === true || values.dump === true) && command !== 'check') {
    process.stderr.write(`infergate: -q and --dump go with "check"\n\n${HELP}`);
    return 2;
  }
  switch (command) {
    case 'check':
      return check(file, values.dump === true ? 'dump' : values.quiet === true ? 'quiet' : 'ok');
    case 'run':
      return run(file);
    case 'demo': {
      const { runDemo } = await import('./demo/demo.js');
      return runDemo();
    }
    default:
      process.stderr.write(`infergate: unknown command "${command}"\n\n${HELP}`);
      return 2;
  }
}

/** `ok`: say "configuration OK"; `quiet`: only the exit code; `dump`: the effective configuration as YAML. */
async function check(file: string, output: 'ok' | 'quiet' | 'dump'): Promise<number> {
  const result = await loadConfigFile(file);
  if (!result.ok) {
    process.stderr.write(formatErrors(result.errors) + '\n');
    return 1;
  }
  if (output === 'ok') process.stdout.write('configuration OK\n');
  else if (output === 'dump') {
    const [{ dumpConfig }, { stringify }] = await Promise.all([import('./config/dump.js'), import('yaml')]);
    process.stdout.write(stringify(dumpConfig(result.config), { lineWidth: 0 }));
  }
  return 0;
}

async function run(file: string): Promise<number> {
  // `workers: N`: a forked worker serves the listeners under its owner (workers/run.ts).
  const workers = await import('./workers/run.js');
  if (workers.isWorkerProcess()) return workers.runWorker(file);
  const result = await loadConfigFile(file);
  if (!result.ok) {
    process.stderr.write(formatErrors(result.errors) + '\n');
    return 1;
  }
  if (workers.workerCount(result.config) > 1) {
    try {
      return await workers.runOwner(result.config, file);
    } catch (err) {
      process.stderr.write(`infergate: cannot start: ${(err as Error).message}\n`);
      return 1;
    }
  }
  // Loaded here, not at the top: `check`, `--version` and `--help` never load the proxy (and undici).
  const { createApp } = await import('./app.js');
  let app;
  try {
    app = createApp(result.config);
  } catch (err) {
    // Something named in the configuration cannot be opened (the access log file): say what, without a stack.
    process.stderr.write(`infergate: cannot start: ${(err as Error).message}\n`);
    return 1;
  }
  try {
    await app.start();
  } catch (err) {
    process.stderr.write(`infergate: cannot start: ${(err as Error).message}\n`);
    await app.close();
    return 1;
  }
  return waitForSignals(app, file);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Open handles (timers, sockets) must not keep a finished command alive.
    setImmediate(() => process.exit(code));
  },
  (err: Error) => {
    process.stderr.write(`infergate: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);

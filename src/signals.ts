// Process signals: SIGHUP reloads the configuration, SIGUSR1 reopens the access log file, SIGTERM / SIGINT drain and stop.
import type { App } from './app.js';
import { formatErrors, loadConfigFile } from './config/load.js';

/** Installs the reload and drain signal handlers; resolves with the exit code after a drain. */
export function waitForSignals(app: App, file: string | null): Promise<number> {
  return new Promise((resolve) => {
    if (file !== null) {
      process.on('SIGHUP', () => {
        void loadConfigFile(file)
          .then((next) => {
            if (next.ok) app.reload(next.config);
            else app.reloadFailed(formatErrors(next.errors));
          })
          // A reload must never take the running balancer down.
          .catch((err: Error) => app.reloadFailed(err.message));
      });
    }
    // logrotate's postrotate (`kill -USR1`, as for nginx): the access log file is opened again under its name.
    process.on('SIGUSR1', () => void app.loggers.reopen());
    // An orchestrator's SIGTERM gets the grace period (endpoint removal catches up); a human's Ctrl-C drains at once.
    const stop = (signal: string): void => {
      app.loggers.log.info({ signal }, 'signal received');
      void app.shutdown({ graceMs: signal === 'SIGTERM' ? app.config.shutdown.graceMs : 0 }).then(() => resolve(0));
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}


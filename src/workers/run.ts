// `infergate run` with `workers: N` (N > 1): the owner process forks N workers; each worker serves the listeners.
// Signals go to the owner (a worker ignores SIGTERM / SIGINT / SIGHUP: the owner tells it what to do), which passes
// reloads and shutdowns on to every worker.
import cluster from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import { availableParallelism } from 'node:os';
import { createApp, type App } from '../app.js';
import type { Config } from '../config/types.js';
import { formatErrors, loadConfigFile, parseConfig } from '../config/load.js';
import { readFile } from 'node:fs/promises';
import { isToWorker, type ToOwner } from './messages.js';
import { WorkerFleet } from './owner.js';
import { applyView } from './view.js';
import { WorkerLink } from './worker.js';

/** How often a worker reports in-flight counts when it has no signals to send. */
const COUNT_REPORT_MS = 250;

/** `workers` resolved: `auto` is one per core the process may use. */
export function workerCount(config: Config): number {
  return config.workers === 'auto' ? availableParallelism() : config.workers;
}

/** True in a process forked by the owner. */
export function isWorkerProcess(): boolean {
  return cluster.isWorker;
}

/** The owner: its App (no proxy listeners), the fleet, and the signals. Resolves with the exit code. */
export async function runOwner(config: Config, file: string): Promise<number> {
  let fleet: WorkerFleet | null = null;
  const app = createApp(config, { role: 'owner', metricsSource: { contentType: AggregatorRegistry.PROMETHEUS_CONTENT_TYPE, metrics: () => fleet!.metricsSource.metrics() } });
  fleet = new WorkerFleet(app, workerCount(config), app.loggers.log);
  await app.start();
  await fleet.start();
  app.loggers.log.info({ workers: fleet.size }, 'workers started');
  return new Promise((resolve) => {
    process.on('SIGHUP', () => {
      void (async () => {
        try {
          const text = await readFile(file, 'utf8');
          const next = parseConfig(text, file);
          if (!next.ok) return app.reloadFailed(formatErrors(next.errors));
          app.reload(next.config);
          fleet!.reload(text, file);
        } catch (err) {
          app.reloadFailed((err as Error).message);
        }
      })();
    });
    process.on('SIGUSR1', () => {
      void app.loggers.reopen();
      fleet!.reopenLogs();
    });
    const stop = (signal: string): void => {
      app.loggers.log.info({ signal }, 'signal received');
      const graceMs = signal === 'SIGTERM' ? app.config.shutdown.graceMs : 0;
      // Workers drain their requests; the owner keeps probing meanwhile, then stops.
      void fleet!.shutdown(graceMs).then(() => app.shutdown({ graceMs: 0 })).then(() => resolve(0));
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

/** A worker: its App serves the listeners and routes by the owner's view. */
export async function runWorker(file: string): Promise<number> {
  // The owner decides when to stop and reload: a terminal's Ctrl-C reaches the whole process group.
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGUSR1'] as const) process.on(s, () => undefined);
  const loaded = await loadConfigFile(file);
  if (!loaded.ok) {
    process.stderr.write(formatErrors(loaded.errors) + '\n');
    return 1;
  }
  const send = (m: ToOwner): void => {
    if (process.connected) process.send!(m);
  };
  const link = new WorkerLink(send);
  const app: App = createApp(loaded.config, { role: 'worker', worker: link });
  link.setClusters(() => app.pools());
  const stopCounts = link.startCountReports(COUNT_REPORT_MS);
  return new Promise((resolve) => {
    const stop = (graceMs: number): void => {
      stopCounts();
      void app.shutdown({ graceMs }).then(() => {
        link.flush();
        resolve(0);
      });
    };
    process.on('message', (m: unknown) => {
      if (!isToWorker(m)) return;
      switch (m.type) {
        case 'infergate:view':
          applyView(m.view, (pool) => app.cluster(pool));
          return;
        case 'infergate:reload': {
          const next = parseConfig(m.text, m.file);
          if (next.ok) app.reload(next.config);
          else app.reloadFailed(formatErrors(next.errors));
          return;
        }
        case 'infergate:reopen':
          void app.loggers.reopen();
          return;
        case 'infergate:shutdown':
          stop(m.graceMs);
          return;
        case 'infergate:metrics-request':
          void app.metrics.registry.getMetricsAsJSON().then((metrics) => send({ type: 'infergate:metrics', id: m.id, metrics }));
          return;
      }
    });
    // The owner is gone (killed): drain what is in flight and leave.
    process.on('disconnect', () => stop(0));
    void app.start().then(
      () => send({ type: 'infergate:ready' }),
      (err: Error) => {
        process.stderr.write(`infergate worker: cannot start: ${err.message}\n`);
        resolve(1);
      },
    );
  });
}

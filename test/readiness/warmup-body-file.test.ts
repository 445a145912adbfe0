// warmup.bodyFile is read relative to the configuration file, and its bytes are the warm-up request body.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { formatErrors, loadConfigFile } from '../../src/config/load.js';
import { idOf, isWarmup, startModel, until, type Model } from './support.js';

let model: Model;
let app: App;
let dir: string;
afterEach(async () => {
  await app.close();
  await model.close();
  rmSync(dir, { recursive: true, force: true });
});

test('bodyFile: warmup/sample.json next to the config file is sent as the body', async () => {
  model = await startModel({ '/health': 200 });
  dir = mkdtempSync(join(tmpdir(), 'infergate-warmup-'));
  mkdirSync(join(dir, 'warmup'));
  const sample = '{"instances":[[5.1,3.5,1.4,0.2]]}\n';
  writeFileSync(join(dir, 'warmup', 'sample.json'), sample);
  const file = join(dir, 'infergate.yaml');
  writeFileSync(file, `
listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
log: { level: silent, accessLog: false }
pools:
  p:
    health: { readiness: { path: /health, interval: 1h } }
    warmup: { requests: 2, path: /predict, bodyFile: warmup/sample.json }
    backends: [${model.url}]
`);
  // Loaded from another working directory on purpose: the path must not depend on it.
  const loaded = await loadConfigFile(file);
  if (!loaded.ok) throw new Error(formatErrors(loaded.errors));
  app = createApp(loaded.config, { defaultMetrics: false });
  const { adminPort } = await app.start();
  await until({ adminUrl: `http://127.0.0.1:${adminPort}` }, () => app.backend(idOf(model.port))?.state() === 'READY', 'READY');
  expect(model.warmups.map((w) => [w.method, w.url, w.body])).toEqual([
    ['POST', '/predict', sample],
    ['POST', '/predict', sample],
  ]);
  expect(model.requests.every(isWarmup)).toBe(true);
});

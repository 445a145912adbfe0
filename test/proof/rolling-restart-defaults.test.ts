// Proof, shipped defaults: a rolling restart of four replicas at 40 POST/s — each stops (uvicorn's graceful
// SIGTERM), its port stays closed 0.5 s, then it loads for 1.5 s — costs no client error and no wrong answer.
import { afterEach, expect, test } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { backendByUrl, waitAllReady, within } from '../e2e/support.js';
import { InferenceClient, KServeReplica, failed, readmeConfig, wrongModel } from './kserve-replica.js';
import { MODEL, sleep } from './restart-in-place-support.js';

let stack: Stack | null = null;
let replicas: KServeReplica[] = [];
afterEach(async () => {
  await stack?.close();
  await Promise.all(replicas.map((r) => r.stop()));
  stack = null;
  replicas = [];
});

test('rolling restart with the README config: 0 client errors, 0 wrong-model answers, every replica READY again', async () => {
  replicas = [0, 1, 2, 3].map(() => new KServeReplica(MODEL));
  await Promise.all(replicas.map((r) => r.start()));
  stack = await startStack(readmeConfig(MODEL, replicas));
  await within(waitAllReady(stack), 10_000, 'all backends READY');
  const client = new InferenceClient(`${stack.url}/v2/models/${MODEL.name}/infer`);
  client.start();
  await sleep(500);
  for (const r of replicas) {
    await r.replace(MODEL, 500, 1500);
    const s = stack;
    await within(
      (async () => {
        while (backendByUrl(s, r.url).state() !== 'READY') await sleep(50);
      })(),
      10_000,
      `${r.url} READY again`,
    );
  }
  await sleep(500);
  const outcomes = await client.stop();
  const errors = failed(outcomes);
  if (errors.length > 0) console.log(JSON.stringify(errors), JSON.stringify(stack.logs.filter((l) => l.msg !== 'request' && ['warn', 'error', 'fatal'].includes(l.level as string)).slice(0, 30)));
  expect(errors).toEqual([]);
  expect(wrongModel(outcomes, MODEL)).toEqual([]);
  // ~2.5 s per replica at 40/s: the run carried real traffic through every restart.
  expect(outcomes.length).toBeGreaterThan(200);
});

// kserve-v2 / triton on an h2 pool probe over gRPC (GRPCInferenceService ServerLive, ModelReady, ModelMetadata): the
// right model is READY, another version MISMATCH, a model not ready stays out, and a killed server is re-verified.
import { afterEach, expect, test } from 'vitest';
import { FakeGrpcKServe } from '../fakes/grpc-kserve.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { backendOf, idOf, probeRound, view, waitState } from './support.js';

const MD5 = '55e55e80cf35a77f076aa8dcc2e26e0c';
const fakes: FakeGrpcKServe[] = [];
let stack: Stack;
afterEach(async () => {
  await stack.close();
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});

async function fake(opts: ConstructorParameters<typeof FakeGrpcKServe>[0]): Promise<FakeGrpcKServe> {
  const f = await new FakeGrpcKServe(opts).start();
  fakes.push(f);
  return f;
}

const pool = (preset: string, model: string, urls: string[]): string => `
pools:
  p:
    protocol: h2
    health: { preset: ${preset}, jitter: 0, startup: { interval: 3s }, readiness: { interval: 7s }, liveness: false, model: ${model} }
    backends: [${urls.join(', ')}]
`;

test('right model READY, another version MISMATCH, a model not ready stays LOADING until ModelReady says true', async () => {
  const good = await fake({ model: 'simple', version: '2' });
  const wrong = await fake({ model: 'simple', version: '1' });
  const loading = await fake({ model: 'simple', version: '2', ready: false });
  const clock = new ManualClock();
  stack = await startStack(pool('kserve-v2', '{ name: simple, version: "2" }', [good.url, wrong.url, loading.url]), { waitReady: false, deps: { clock } });
  await waitState(stack, idOf(good.port), 'READY');
  await waitState(stack, idOf(wrong.port), 'MISMATCH');
  await clock.waitFor(7_000, 3); // every readiness loop has its first verdict

  const g = await view(stack, idOf(good.port));
  expect(g.lastProbe).toMatchObject({ ok: true, role: 'readiness', path: '/inference.GRPCInferenceService/ModelReady', error: null });
  expect(g.admission).toMatchObject({ ok: true, found: { name: 'simple', version: '2', checksum: null } });
  const w = await view(stack, idOf(wrong.port));
  expect(w.admission).toMatchObject({ ok: false, reason: 'model mismatch: version: expected "2", found "1"', found: { version: '1' } });
  const l = await view(stack, idOf(loading.port));
  expect(l.state).toBe('LOADING');
  expect(l.lastProbe).toMatchObject({ ok: false, path: '/inference.GRPCInferenceService/ModelReady', error: 'ready: false' });
  expect(loading.count('ModelMetadata')).toBe(0);

  // What the servers saw: ServerLive first (startup), then the per-model ready call (unversioned for KServe), each
  // with the probe timeout as its gRPC deadline.
  expect(good.calls.slice(0, 3).map((c) => c.method)).toEqual(['ServerLive', 'ModelReady', 'ModelMetadata']);
  const ready = good.calls.find((c) => c.method === 'ModelReady')!;
  expect(ready.deadlineMs).toBeGreaterThan(0);
  expect(ready.deadlineMs).toBeLessThanOrEqual(1000);

  loading.ready = true;
  await probeRound(clock, 7_000, 3);
  await waitState(stack, idOf(loading.port), 'READY');
  wrong.version = '2';
  await probeRound(clock, 7_000, 3);
  await waitState(stack, idOf(wrong.port), 'READY');
});

test('server killed: the failed gRPC probe holds the backend for re-verification; back with another version it is MISMATCH', async () => {
  const f = await fake({ model: 'simple', version: '2' });
  const clock = new ManualClock();
  stack = await startStack(pool('kserve-v2', '{ name: simple, version: "2" }', [f.url]), { waitReady: false, deps: { clock } });
  const id = idOf(f.port);
  await waitState(stack, id, 'READY');
  await clock.waitFor(7_000, 1);

  await f.stop();
  await probeRound(clock, 7_000);
  await waitState(stack, id, 'UNREADY');
  expect(backendOf(stack, id).stateReason).toMatch(/^re-verifying the backend: readiness \/inference\.GRPCInferenceService\/ModelReady failed: UNAVAILABLE: /);

  // Restarted at the same address with another model version: the readiness pass leads to a fresh admission.
  f.version = '3';
  const metadataReads = f.count('ModelMetadata');
  await f.restart();
  // The channel was dropped with the failure: this probe dials the new process at once (no gRPC reconnect back-off).
  await probeRound(clock, 7_000);
  await waitState(stack, id, 'MISMATCH');
  expect(f.count('ModelMetadata')).toBeGreaterThan(metadataReads);
  expect((await view(stack, id)).admission).toMatchObject({ ok: false, found: { version: '3' } });

  f.version = '2';
  await probeRound(clock, 7_000);
  await waitState(stack, id, 'READY');
});

test('triton: ModelReady asks for the configured version; the checksum comes from ModelConfig parameters', async () => {
  const good = await fake({ model: 'densenet', version: '3', md5: MD5 });
  const other = await fake({ model: 'densenet', version: '3', md5: 'ffffffffffffffffffffffffffffffff' });
  const clock = new ManualClock();
  stack = await startStack(pool('triton', `{ name: densenet, version: 3, md5: ${MD5} }`, [good.url, other.url]), { waitReady: false, deps: { clock } });
  await waitState(stack, idOf(good.port), 'READY');
  await waitState(stack, idOf(other.port), 'MISMATCH');
  expect((await view(stack, idOf(good.port))).admission).toMatchObject({ ok: true, found: { name: 'densenet', version: '3', checksum: MD5 } });
  expect((await view(stack, idOf(other.port))).admission).toMatchObject({ reason: `model mismatch: md5: expected "${MD5}", found "ffffffffffffffffffffffffffffffff"` });
  expect(good.calls.filter((c) => c.method === 'ModelConfig')).toHaveLength(1);
});

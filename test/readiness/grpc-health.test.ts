// Preset grpc: the standard grpc.health.v1 Health/Check — SERVING is READY; NOT_SERVING, UNKNOWN or a service the
// server does not know (NOT_FOUND) take the backend out after the unhealthy threshold, as a failing HTTP probe does.
import { afterEach, expect, test } from 'vitest';
import { FakeGrpcKServe } from '../fakes/grpc-kserve.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { backendOf, idOf, probeRound, until, view, waitState } from './support.js';

let f: FakeGrpcKServe;
let stack: Stack;
afterEach(async () => {
  await stack.close();
  await f.close();
});

const pool = (url: string, service: string): string => `
pools:
  p:
    protocol: h2
    health: { preset: grpc, grpcService: "${service}", jitter: 0, readiness: { interval: 7s, healthyThreshold: 1, unhealthyThreshold: 2 } }
    backends: [${url}]
`;

test('SERVING -> READY; NOT_SERVING twice -> UNREADY; SERVING again -> READY', async () => {
  f = await new FakeGrpcKServe().start();
  const clock = new ManualClock();
  stack = await startStack(pool(f.url, ''), { waitReady: false, deps: { clock } });
  const id = idOf(f.port);
  await waitState(stack, id, 'READY');
  await clock.waitFor(7_000, 1);
  expect((await view(stack, id)).lastProbe).toMatchObject({ ok: true, path: '/grpc.health.v1.Health/Check' });
  expect(f.calls.map((c) => c.method)).toEqual(['Check']);

  f.health.set('', 'NOT_SERVING');
  await probeRound(clock, 7_000);
  expect((await view(stack, id)).state).toBe('READY'); // one failure is below the threshold
  await probeRound(clock, 7_000);
  await waitState(stack, id, 'UNREADY');
  expect((await view(stack, id)).lastProbe).toMatchObject({ ok: false, error: 'status NOT_SERVING' });

  f.health.set('', 'UNKNOWN');
  await probeRound(clock, 7_000);
  expect((await view(stack, id)).lastProbe).toMatchObject({ ok: false, error: 'status UNKNOWN' });

  f.health.set('', 'SERVING');
  await probeRound(clock, 7_000);
  await waitState(stack, id, 'READY');
});

test('the configured service is the one asked about; one the server does not know is NOT_FOUND, never READY', async () => {
  f = await new FakeGrpcKServe().start();
  f.health.set('inference.GRPCInferenceService', 'NOT_SERVING');
  const clock = new ManualClock();
  stack = await startStack(pool(f.url, 'inference.GRPCInferenceService'), { waitReady: false, deps: { clock } });
  const id = idOf(f.port);
  await clock.waitFor(7_000, 1);
  expect((await view(stack, id))).toMatchObject({ state: 'LOADING', lastProbe: { ok: false, error: 'status NOT_SERVING' } });
  await stack.close();

  stack = await startStack(pool(f.url, 'no.such.Service'), { waitReady: false, deps: { clock: new ManualClock() } });
  await until(stack, () => backendOf(stack, id).lastProbe !== null, 'the first probe');
  expect((await view(stack, id)).lastProbe).toMatchObject({ ok: false, error: 'NOT_FOUND: unknown service no.such.Service' });
});

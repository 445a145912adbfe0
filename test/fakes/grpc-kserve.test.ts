// The gRPC test server does what its header promises: echo with the replica in body, header and trailer; a bidi stream;
// deadlines and cancellations recorded; failures with a status; stopped and restarted on the same port.
import { afterEach, expect, test } from 'vitest';
import { Metadata, status, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import { FakeGrpcKServe, inferenceClient } from './grpc-kserve.js';

let f: FakeGrpcKServe;
let client: ReturnType<typeof inferenceClient>;
afterEach(async () => {
  client?.close();
  await f.close();
});

interface Unary {
  err: ServiceError | null;
  value: Record<string, unknown> | undefined;
  head: Metadata | null;
  trailers: Metadata | null;
}

function infer(req: object, deadlineMs?: number): Promise<Unary> {
  return new Promise((resolve) => {
    let head: Metadata | null = null;
    let trailers: Metadata | null = null;
    const call = (client.ModelInfer as (...a: unknown[]) => NodeJS.EventEmitter)(req, new Metadata(), deadlineMs === undefined ? {} : { deadline: Date.now() + deadlineMs }, (err: ServiceError | null, value?: Record<string, unknown>) => {
      setImmediate(() => resolve({ err, value, head, trailers }));
    });
    call.on('metadata', (m: Metadata) => (head = m));
    call.on('status', (s: { metadata: Metadata }) => (trailers = s.metadata));
  });
}

const input = { name: 'INPUT0', datatype: 'FP32', shape: [1, 2], contents: { fp32_contents: [1.5, 2.5] } };

test('ModelInfer echoes the input and names the replica in the answer, a header and a trailer', async () => {
  f = await new FakeGrpcKServe({ model: 'simple', version: '4', replica: 'b' }).start();
  client = inferenceClient(f.target);
  const r = await infer({ model_name: 'simple', id: 'req-1', inputs: [input], raw_input_contents: [Buffer.from('raw')] });
  expect(r.err).toBeNull();
  expect(r.value).toMatchObject({ model_name: 'simple', model_version: '4', id: 'req-1', parameters: { replica: { string_param: 'b' } }, raw_output_contents: [Buffer.from('raw')] });
  expect((r.value!.outputs as Array<{ contents: { fp32_contents: number[] } }>)[0]!.contents.fp32_contents).toEqual([1.5, 2.5]);
  expect(r.head!.get('x-replica')).toEqual(['b']);
  expect(r.trailers!.get('x-replica')).toEqual(['b']);
  expect(r.trailers!.get('x-infer-count')).toEqual(['1']);
});

test('fail answers the status asked for, with its message; an unknown model is NOT_FOUND, a model not ready UNAVAILABLE', async () => {
  f = await new FakeGrpcKServe().start();
  client = inferenceClient(f.target);
  const failed = await infer({ model_name: 'simple', parameters: { fail: { string_param: 'INVALID_ARGUMENT' }, fail_message: { string_param: 'bad shape ☹' } } });
  expect(failed.err).toMatchObject({ code: status.INVALID_ARGUMENT, details: 'bad shape ☹' });
  expect((await infer({ model_name: 'other' })).err?.code).toBe(status.NOT_FOUND);
  f.ready = false;
  expect((await infer({ model_name: 'simple' })).err?.code).toBe(status.UNAVAILABLE);
});

test('a held call ends at its deadline: the client sees DEADLINE_EXCEEDED, the server records the cancellation', async () => {
  f = await new FakeGrpcKServe().start();
  client = inferenceClient(f.target);
  const cancelled = new Promise((r) => f.events.once('cancelled', r));
  const r = await infer({ model_name: 'simple', parameters: { hold: { bool_param: true } } }, 200);
  expect(r.err?.code).toBe(status.DEADLINE_EXCEEDED);
  await cancelled;
  expect(f.cancelled).toEqual(['ModelInfer']);
  const rec = f.calls.find((c) => c.method === 'ModelInfer')!;
  expect(rec.deadlineMs).toBeGreaterThan(0);
  expect(rec.deadlineMs).toBeLessThanOrEqual(200);
  expect(rec.end).toBe('cancelled');
});

test('ModelStreamInfer: n responses per request, in order, then OK with trailers when the client half-closes', async () => {
  f = await new FakeGrpcKServe({ replica: 'z' }).start();
  client = inferenceClient(f.target);
  const call = (client.ModelStreamInfer as () => ClientDuplexStream<object, { infer_response: { parameters: Record<string, { int64_param: string }> } }>)();
  const seqs: string[] = [];
  call.on('data', (m) => seqs.push(m.infer_response.parameters.seq!.int64_param));
  const ended = new Promise<{ code: number; metadata: Metadata }>((r) => call.on('status', r));
  call.write({ model_name: 'simple', parameters: { tokens: { int64_param: '3' } } });
  call.write({ model_name: 'simple', parameters: { tokens: { int64_param: '2' }, interval_ms: { int64_param: '5' } } });
  call.end();
  const s = await ended;
  expect(s.code).toBe(status.OK);
  expect(s.metadata.get('x-replica')).toEqual(['z']);
  expect(seqs).toEqual(['0', '1', '2', '0', '1']);
});

test('a cancelled stream is recorded; stop() and restart() keep the port', async () => {
  f = await new FakeGrpcKServe().start();
  const port = f.port;
  client = inferenceClient(f.target);
  const call = (client.ModelStreamInfer as () => ClientDuplexStream<object, unknown>)();
  call.on('error', () => undefined);
  call.write({ model_name: 'simple', parameters: { tokens: { int64_param: '100' }, interval_ms: { int64_param: '1000' } } });
  await new Promise((r) => f.events.once('call', r));
  const cancelled = new Promise((r) => f.events.once('cancelled', r));
  call.cancel();
  await cancelled;
  expect(f.cancelled).toEqual(['ModelStreamInfer']);

  await f.stop();
  expect((await infer({ model_name: 'simple' }, 2000)).err?.code).toBe(status.UNAVAILABLE);
  f.version = '9';
  await f.restart();
  expect(f.port).toBe(port);
  client.close();
  client = inferenceClient(f.target);
  expect((await infer({ model_name: 'simple' })).value).toMatchObject({ model_version: '9' });
});

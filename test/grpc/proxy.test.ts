// gRPC through infergate, end to end: a @grpc/grpc-js client speaks h2c to infergate, which proxies each call as an
// HTTP/2 stream to KServe v2 GRPCInferenceService servers (pool protocol: h2) — unary and bidi streaming, metadata and
// trailers preserved, server errors passed through, deadlines (grpc-timeout) enforced, cancellation forwarded, and
// infergate's own failures answered in gRPC's shape.
import { Metadata, status, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { FakeGrpcKServe, inferenceClient } from '../fakes/grpc-kserve.js';
import { startStack, type Stack } from '../helpers/stack.js';

let a: FakeGrpcKServe;
let b: FakeGrpcKServe;
let stack: Stack;
let client: ReturnType<typeof inferenceClient>;

const pool = (urls: string[], extra = ''): string => `
pools:
  p:
    protocol: h2
    balance: round-robin
    health: { preset: kserve-v2, model: { name: simple } }
    backends: [${urls.join(', ')}]
${extra}`;

beforeAll(async () => {
  a = await new FakeGrpcKServe({ replica: 'a' }).start();
  b = await new FakeGrpcKServe({ replica: 'b' }).start();
  stack = await startStack(pool([a.url, b.url]));
  await stack.waitForLog((l) => l.msg === 'backend state changed' && l.to === 'READY' && String(l.backend).endsWith(String(b.port)));
  client = inferenceClient(`127.0.0.1:${stack.port}`);
});
afterAll(async () => {
  client.close();
  await stack.close();
  await a.close();
  await b.close();
});

interface InferReply {
  response: { id: string; parameters: Record<string, { string_param?: string }>; outputs: Array<{ contents: { int64_contents?: Array<string | number> } }> };
  headers: Metadata;
  trailers: Metadata;
}

function infer(params: Record<string, unknown> = {}, opts: { deadlineMs?: number; metadata?: Metadata } = {}): Promise<InferReply> & { call: { cancel(): void } } {
  let headers = new Metadata();
  let trailers = new Metadata();
  let call: { cancel(): void; on(e: string, f: (m: Metadata) => void): void } | undefined;
  const p = new Promise<InferReply>((resolve, reject) => {
    // The callback and the 'status' event (which carries the trailers) come in either order: answer after both.
    let answer: InferReply['response'] | null = null;
    let statusSeen = false;
    const settle = (): void => {
      if (answer !== null && statusSeen) resolve({ response: answer, headers, trailers });
    };
    call = client.ModelInfer(
      { model_name: 'simple', id: 'req-1', parameters: params, inputs: [{ name: 'x', datatype: 'INT64', shape: [3], contents: { int64_contents: [1, 2, 3] } }] },
      opts.metadata ?? new Metadata(),
      opts.deadlineMs === undefined ? {} : { deadline: Date.now() + opts.deadlineMs },
      (err: ServiceError | null, response: InferReply['response']) => {
        if (err) reject(err);
        answer = response;
        settle();
      },
    ) as never;
    call!.on('metadata', (m: Metadata) => (headers = m));
    call!.on('status', (s: { metadata: Metadata }) => {
      trailers = s.metadata;
      statusSeen = true;
      settle();
    });
  });
  return Object.assign(p, { call: call! });
}

test('unary ModelInfer reaches both replicas; response, header metadata and trailers come back intact', async () => {
  const md = new Metadata();
  md.set('x-client', 'tests');
  const replies = await Promise.all([infer({}, { metadata: md }), infer({}, { metadata: md }), infer(), infer()]);
  expect(new Set(replies.map((r) => r.response.parameters.replica?.string_param))).toEqual(new Set(['a', 'b']));
  for (const r of replies) {
    expect(r.response.id).toBe('req-1');
    expect(r.response.outputs[0]?.contents.int64_contents?.map(Number)).toEqual([1, 2, 3]);
    expect(r.headers.get('x-replica')).toHaveLength(1);
    expect(r.headers.get('x-request-id')).toHaveLength(1);
    // Trailers: grpc-status is consumed by the client; the server's own trailer must have crossed the proxy.
    expect(r.trailers.get('x-infer-count')).toHaveLength(1);
  }
  const seen = [...a.calls, ...b.calls].filter((c) => c.method === 'ModelInfer');
  expect(seen.some((c) => c.metadata['x-client'] !== undefined)).toBe(true);
  // gRPC servers look for te: trailers to spot proxies that would drop trailers.
  expect(seen.every((c) => c.metadata.te === undefined || c.metadata.te === 'trailers')).toBe(true);
});

test('an error status from the server passes through with its message', async () => {
  const err = await infer({ fail: { string_param: 'INVALID_ARGUMENT' }, fail_message: { string_param: 'shape [3] is not [4]' } }).catch((e: ServiceError) => e);
  expect((err as ServiceError).code).toBe(status.INVALID_ARGUMENT);
  expect((err as ServiceError).details).toBe('shape [3] is not [4]');
});

test('the client deadline (grpc-timeout) bounds the call: DEADLINE_EXCEEDED, and the server sees the call cancelled', async () => {
  const before = a.cancelled.length + b.cancelled.length;
  const t0 = Date.now();
  const err = await infer({ hold: { bool_param: true } }, { deadlineMs: 400 }).catch((e: ServiceError) => e);
  expect((err as ServiceError).code).toBe(status.DEADLINE_EXCEEDED);
  expect(Date.now() - t0).toBeLessThan(3000);
  await expect.poll(() => a.cancelled.length + b.cancelled.length, { timeout: 3000 }).toBeGreaterThan(before);
  const held = [...a.calls, ...b.calls].filter((c) => c.method === 'ModelInfer').at(-1)!;
  expect(held.deadlineMs).toBeGreaterThan(0);
  expect(held.deadlineMs).toBeLessThanOrEqual(400);
});

test("infergate's own deadline answers DEADLINE_EXCEEDED in gRPC's shape when the client's is longer", async () => {
  // The pool's total timeout (1 s here) is shorter than the client's deadline (10 s): infergate cancels upstream.
  const s = await startStack(pool([a.url], 'timeouts: { total: 1s }'.replace(/^/, '    ')));
  const c = inferenceClient(`127.0.0.1:${s.port}`);
  try {
    const err = await new Promise<ServiceError>((resolve) => {
      c.ModelInfer({ model_name: 'simple', parameters: { hold: { bool_param: true } }, inputs: [] }, new Metadata(), { deadline: Date.now() + 10_000 }, (e: ServiceError) => resolve(e));
    });
    expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    expect(err.details).toContain('total-timeout');
  } finally {
    c.close();
    await s.close();
  }
});

test('a cancelled call is cancelled upstream at once', async () => {
  const before = a.cancelled.length + b.cancelled.length;
  const p = infer({ hold: { bool_param: true } });
  p.catch(() => undefined);
  await expect.poll(() => [...a.calls, ...b.calls].filter((c) => c.method === 'ModelInfer' && c.end === null).length, { timeout: 3000 }).toBeGreaterThan(0);
  p.call.cancel();
  await expect.poll(() => a.cancelled.length + b.cancelled.length, { timeout: 3000 }).toBeGreaterThan(before);
});

test('bidirectional ModelStreamInfer: several requests, several answers each, in order, then a clean end', async () => {
  const call = client.ModelStreamInfer() as unknown as ClientDuplexStream<unknown, unknown>;
  const got = new Map<string, number[]>();
  const ended = new Promise<void>((resolve, reject) => {
    call.on('data', (m: { infer_response?: { id: string; parameters: Record<string, { int64_param?: string | number }> } }) => {
      const r = m.infer_response!;
      got.set(r.id, [...(got.get(r.id) ?? []), Number(r.parameters.seq?.int64_param)]);
    });
    call.on('end', () => resolve());
    call.on('error', reject);
  });
  for (let i = 0; i < 3; i++) call.write({ model_name: 'simple', id: `s${i}`, parameters: { tokens: { int64_param: 4 }, interval_ms: { int64_param: 5 } }, inputs: [] });
  call.end();
  await ended;
  // The server answers the three requests concurrently: each one's answers in order.
  expect(Object.fromEntries(got)).toEqual({ s0: [0, 1, 2, 3], s1: [0, 1, 2, 3], s2: [0, 1, 2, 3] });
});

test("with no backend ready, the answer is gRPC-shaped: UNAVAILABLE with infergate's reason", async () => {
  const down = await new FakeGrpcKServe({ ready: false }).start();
  const s = await startStack(pool([down.url], '    queue: false'), { waitReady: false });
  const c = inferenceClient(`127.0.0.1:${s.port}`);
  try {
    const err = await new Promise<ServiceError>((resolve) => {
      c.ModelInfer({ model_name: 'simple', inputs: [] }, (e: ServiceError) => resolve(e));
    });
    expect(err.code).toBe(status.UNAVAILABLE);
    expect(err.details).toContain('no-ready-backend');
  } finally {
    c.close();
    await s.close();
    await down.close();
  }
});

test('gRPC over TLS (h2 through ALPN) on a TLS listener', async () => {
  const { makeCa, makeCert, tempDir, writePem } = await import('../helpers/certs.js');
  const { credentials } = await import('@grpc/grpc-js');
  const ca = await makeCa();
  const files = writePem(tempDir(), 'tls', await makeCert(ca));
  const s = await startStack(`listen: { address: 127.0.0.1:0, tls: { cert: ${files.cert}, key: ${files.key} } }\n${pool([a.url])}`);
  const c = inferenceClient(`127.0.0.1:${s.port}`, credentials.createSsl(Buffer.from(ca.cert)), { 'grpc.ssl_target_name_override': 'localhost' });
  try {
    const reply = await new Promise<{ parameters: Record<string, { string_param?: string }> }>((resolve, reject) => {
      c.ModelInfer({ model_name: 'simple', inputs: [] }, (e: ServiceError | null, r: never) => (e ? reject(e) : resolve(r)));
    });
    expect(reply.parameters.replica?.string_param).toBe('a');
  } finally {
    c.close();
    await s.close();
  }
});

test("grpc-timeout alone (a client that does not enforce its own deadline) bounds the call in infergate", async () => {
  const { h2connect } = await import('../helpers/h2-client.js');
  const session = await h2connect(`http://127.0.0.1:${stack.port}`);
  try {
    // An empty ModelInferRequest with `hold` would need protobuf encoding: a zero-length message holds nothing, so
    // use a request the fake never answers on its own — a call to a method it only serves with `hold`.
    const { packageDefinition, INFERENCE_SERVICE } = await import('../../src/health/grpc/proto.js');
    const method = (packageDefinition()[INFERENCE_SERVICE] as unknown as Record<string, { requestSerialize(v: unknown): Buffer }>).ModelInfer!;
    const message = method.requestSerialize({ model_name: 'simple', parameters: { hold: { bool_param: true } }, inputs: [] });
    const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), message]);
    frame.writeUInt32BE(message.length, 1);
    const t0 = Date.now();
    const stream = session.request({ ':method': 'POST', ':path': '/inference.GRPCInferenceService/ModelInfer', 'content-type': 'application/grpc', te: 'trailers', 'grpc-timeout': '300m' });
    stream.end(frame);
    stream.resume();
    const trailers = await new Promise<Record<string, unknown>>((resolve, reject) => {
      let head: Record<string, unknown> = {};
      stream.on('response', (h) => (head = h));
      stream.on('trailers', (t) => resolve({ ...head, ...t }));
      stream.on('close', () => resolve(head));
      stream.on('error', reject);
    });
    expect(trailers['grpc-status']).toBe('4');
    expect(String(trailers['grpc-message'])).toContain('total-timeout');
    expect(Date.now() - t0).toBeLessThan(3000);
  } finally {
    session.close();
  }
});

test('a deadline that passes after the answer began ends the stream with DEADLINE_EXCEEDED in trailers', async () => {
  const s = await startStack(pool([a.url], '    timeouts: { total: 1s }'));
  const c = inferenceClient(`127.0.0.1:${s.port}`);
  try {
    const call = c.ModelStreamInfer() as unknown as ClientDuplexStream<unknown, unknown>;
    const got: unknown[] = [];
    const err = await new Promise<ServiceError>((resolve) => {
      call.on('data', (m) => got.push(m));
      call.on('error', (e: ServiceError) => resolve(e));
      // 50 answers 50 ms apart: the first ones flow, then the 1 s total timeout of the pool ends the call.
      call.write({ model_name: 'simple', id: 'long', parameters: { tokens: { int64_param: 50 }, interval_ms: { int64_param: 50 } }, inputs: [] });
    });
    expect(got.length).toBeGreaterThan(0);
    expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    expect(err.details).toContain('total-timeout');
  } finally {
    c.close();
    await s.close();
  }
});

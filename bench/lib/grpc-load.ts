/**
 * A bounded @grpc/grpc-js load loop for streaming RPCs (h2load cannot hold a stream open and answer it): `streams`
 * concurrent ModelStreamInfer calls on one channel (one HTTP/2 connection, as a real client has), `messages` answers
 * each, then the run ends. Runs in the bench process, so on a small machine it competes with the proxy for CPU.
 *
 * server-stream: one request asking for `messages` answers, then half-close; the server writes them back to back
 *   (Triton decoupled / an LLM's tokens). Per-message latency = time since the previous answer (the first: since the request).
 * bidi: ping-pong; each request is written once the previous answer arrived. Per-message latency = round trip.
 */
import { credentials, loadPackageDefinition, type ChannelCredentials, type Client, type ClientDuplexStream, type GrpcObject, type ServiceClientConstructor, type ServiceError } from '@grpc/grpc-js';
import http2 from 'node:http2';
import { performance } from 'node:perf_hooks';
import { INFERENCE_SERVICE, benchPackageDefinition, grpcFrame, smallInferRequest, type InferRequest } from './grpc-proto.ts';
import { percentile, round } from './report.ts';

export type StreamMode = 'server-stream' | 'bidi';

export interface StreamLoadResult {
  messagesPerSec: number;
  messages: number;
  streams: number;
  /** Streams that ended with a non-OK status or delivered fewer answers than asked. */
  failedStreams: number;
  /** Answers asked for and never delivered (a stream cut short, even one that ended with status OK). */
  missingMessages: number;
  p50Ms: number;
  p99Ms: number;
  /** Server-stream only: median time from the request to the first answer. */
  firstMessageP50Ms: number | null;
  elapsedSec: number;
}

interface StreamAnswer {
  error_message: string;
  infer_response: { id: string } | null;
}

interface InferenceClient extends Client {
  ModelStreamInfer(): ClientDuplexStream<InferRequest, StreamAnswer>;
  ModelInfer(request: InferRequest, options: { deadline: number }, cb: (error: ServiceError | null, answer?: { id: string; outputs: unknown[] }) => void): void;
}

/** A client for `target` (host:port, h2c). Close it with client.close(). */
export function inferenceClient(target: string, creds: ChannelCredentials = credentials.createInsecure()): InferenceClient {
  const pkg = loadPackageDefinition(benchPackageDefinition());
  const inference = pkg.inference as GrpcObject;
  const Ctor = inference.GRPCInferenceService as ServiceClientConstructor;
  return new Ctor(target, creds) as unknown as InferenceClient;
}

/** `count` unary ModelInfer calls, one after another; throws unless each answers with its own id (a correctness check). */
export async function checkUnary(client: InferenceClient, count: number): Promise<void> {
  for (let i = 0; i < count; i += 1) {
    const id = `check-${i}`;
    const answer = await new Promise<{ id: string }>((resolve, reject) =>
      client.ModelInfer(smallInferRequest(id), { deadline: Date.now() + 5000 }, (error, value) => (error !== null || value === undefined ? reject(error ?? new Error('no answer')) : resolve(value))),
    );
    if (answer.id !== id) throw new Error(`ModelInfer answered id ${answer.id}, expected ${id}`);
  }
}

function oneStream(client: InferenceClient, mode: StreamMode, messages: number, index: number, latencies: number[], firsts: number[]): Promise<{ got: number; ok: boolean }> {
  return new Promise((resolve) => {
    const call = client.ModelStreamInfer();
    let got = 0;
    let last = performance.now();
    let ok = true;
    call.on('data', (answer: StreamAnswer) => {
      const now = performance.now();
      latencies.push(now - last);
      if (got === 0 && mode === 'server-stream') firsts.push(now - last);
      last = now;
      got += 1;
      if (answer.error_message !== '') ok = false;
      if (mode === 'bidi') {
        if (got < messages) {
          last = performance.now();
          call.write(smallInferRequest(`s${index}-m${got}`));
        } else call.end();
      }
    });
    call.on('error', () => {
      ok = false;
    });
    call.on('status', (status: { code: number }) => {
      if (status.code !== 0) ok = false;
      resolve({ got, ok: ok && got === messages });
    });
    last = performance.now();
    if (mode === 'server-stream') {
      call.write(smallInferRequest(`s${index}`, messages));
      call.end();
    } else call.write(smallInferRequest(`s${index}-m0`));
  });
}

export async function runStreamLoad(client: InferenceClient, mode: StreamMode, streams: number, messages: number): Promise<StreamLoadResult> {
  const latencies: number[] = [];
  const firsts: number[] = [];
  const started = performance.now();
  const results = await Promise.all(Array.from({ length: streams }, (_, i) => oneStream(client, mode, messages, i, latencies, firsts)));
  const elapsedSec = (performance.now() - started) / 1000;
  const total = results.reduce((sum, r) => sum + r.got, 0);
  return {
    messagesPerSec: round(total / elapsedSec, 1),
    messages: total,
    streams,
    failedStreams: results.filter((r) => !r.ok).length,
    missingMessages: streams * messages - total,
    p50Ms: round(percentile(latencies, 50)),
    p99Ms: round(percentile(latencies, 99)),
    firstMessageP50Ms: mode === 'server-stream' ? round(percentile(firsts, 50)) : null,
    elapsedSec: round(elapsedSec),
  };
}

export interface SlowReaderResult {
  /** Answers asked for in each call. */
  asked: number;
  /** Answers delivered, per call. */
  delivered: number[];
  /** grpc-status of each call ('none' without trailers). */
  statuses: string[];
}

/**
 * A slow reader of a token stream (a client on a poor network): raw node:http2 ModelStreamInfer calls asking for
 * `asked` answers each, one after another; after every chunk it reads, the client stops reading for `pauseMs`. Every
 * answer must arrive before grpc-status 0; a proxy that loses data buffered under backpressure shows here.
 */
export async function slowReaderCheck(port: number, calls: number, asked: number, pauseMs: number): Promise<SlowReaderResult> {
  const method = (benchPackageDefinition()[INFERENCE_SERVICE] as unknown as Record<string, { requestSerialize(value: unknown): Buffer }>).ModelStreamInfer;
  if (method === undefined) throw new Error('ModelStreamInfer missing from the bench proto');
  const delivered: number[] = [];
  const statuses: string[] = [];
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', () => {});
  try {
    for (let i = 0; i < calls; i += 1) {
      const stream = session.request({ ':method': 'POST', ':path': `/${INFERENCE_SERVICE}/ModelStreamInfer`, 'content-type': 'application/grpc', te: 'trailers' });
      stream.end(grpcFrame(method.requestSerialize(smallInferRequest(`slow-${i}`, asked))));
      let pending: Buffer = Buffer.alloc(0);
      let messages = 0;
      let status = 'none';
      stream.on('response', (headers) => {
        // A trailers-only answer (an error) carries grpc-status in the head.
        if (headers['grpc-status'] !== undefined) status = String(headers['grpc-status']);
      });
      stream.on('trailers', (trailers) => {
        status = String(trailers['grpc-status'] ?? 'none');
      });
      stream.on('data', (chunk: Buffer) => {
        pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
        while (pending.length >= 5 && pending.length >= 5 + pending.readUInt32BE(1)) {
          pending = pending.subarray(5 + pending.readUInt32BE(1));
          messages += 1;
        }
        stream.pause();
        setTimeout(() => stream.resume(), pauseMs);
      });
      stream.on('error', () => {});
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => stream.close(), 60_000);
        stream.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      delivered.push(messages);
      statuses.push(status);
    }
  } finally {
    session.close();
  }
  return { asked, delivered, statuses };
}

// A slow gRPC client of a long server stream (a token stream to a phone) gets every answer before grpc-status: the
// proxy pauses the backend while the client is behind, and nothing buffered at that moment may be lost when the
// trailers arrive. (undici's HTTP/2 client lost them; the h2 request path is node:http2 — backends/h2-dispatcher.ts.)
import http2 from 'node:http2';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { INFERENCE_SERVICE, packageDefinition } from '../../src/health/grpc/proto.js';
import { FakeGrpcKServe } from '../fakes/grpc-kserve.js';
import { startStack, type Stack } from '../helpers/stack.js';

let fake: FakeGrpcKServe;
let stack: Stack;
beforeAll(async () => {
  fake = await new FakeGrpcKServe({ replica: 'a' }).start();
  stack = await startStack(`
pools:
  p:
    protocol: h2
    health: { preset: kserve-v2, model: { name: simple } }
    backends: [${fake.url}]
`);
});
afterAll(async () => {
  await stack.close();
  await fake.close();
});

function frame(message: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}

test('20,000 answers to a client that keeps falling behind: all delivered, then grpc-status 0', async () => {
  const ser = (packageDefinition()[INFERENCE_SERVICE] as unknown as Record<string, { requestSerialize(v: unknown): Buffer }>).ModelStreamInfer!.requestSerialize;
  const TOKENS = 20_000;
  const session = http2.connect(`http://127.0.0.1:${stack.port}`);
  try {
    const stream = session.request({ ':method': 'POST', ':path': `/${INFERENCE_SERVICE}/ModelStreamInfer`, 'content-type': 'application/grpc', te: 'trailers' });
    stream.end(frame(ser({ model_name: 'simple', id: 'slow', parameters: { tokens: { int64_param: TOKENS } }, inputs: [] })));
    let buf = Buffer.alloc(0);
    let messages = 0;
    let status: unknown = null;
    stream.on('trailers', (t) => (status = t['grpc-status']));
    stream.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      while (buf.length >= 5 && buf.length >= 5 + buf.readUInt32BE(1)) {
        buf = buf.subarray(5 + buf.readUInt32BE(1));
        messages++;
      }
      // Behind after every chunk: the proxy's write to us backs up and it pauses the backend's stream.
      stream.pause();
      setTimeout(() => stream.resume(), 2);
    });
    await new Promise((r) => stream.on('close', r));
    expect(status).toBe('0');
    expect(messages).toBe(TOKENS);
  } finally {
    session.close();
  }
}, 60_000);

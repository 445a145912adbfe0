/**
 * The gRPC model server of the `grpc` scenario: @grpc/grpc-js, h2c on 127.0.0.1, KServe v2 GRPCInferenceService +
 * grpc.health.v1. ModelInfer answers at once with the input echoed as output (a tiny model whose cost is nil, so the
 * proxy's cost is what shows); ModelStreamInfer answers each request with `tokens` responses (default 1) written
 * back to back, the way Triton's decoupled models stream an LLM's tokens. Prints {"port":N} once listening.
 */
import { Server, ServerCredentials, type ServerDuplexStream, type ServerUnaryCall, type ServiceDefinition, type sendUnaryData } from '@grpc/grpc-js';
import { HEALTH_SERVICE, INFERENCE_SERVICE, benchPackageDefinition, type InferRequest } from '../lib/grpc-proto.ts';

function answer(request: InferRequest, seq: number): unknown {
  const input = request.inputs[0];
  return {
    model_name: request.model_name,
    model_version: '1',
    id: request.id,
    parameters: { seq: { int64_param: seq } },
    outputs: [{ name: 'OUTPUT0', datatype: 'FP32', shape: input?.shape ?? [1, 4], contents: { fp32_contents: input?.contents?.fp32_contents ?? [] } }],
  };
}

function tokensOf(request: InferRequest): number {
  const value = Number(request.parameters?.tokens?.int64_param ?? 1);
  return Number.isFinite(value) && value >= 1 ? Math.min(value, 100_000) : 1;
}

const defs = benchPackageDefinition();
const server = new Server();
server.addService(defs[INFERENCE_SERVICE] as ServiceDefinition, {
  ServerLive: (_call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) => cb(null, { live: true }),
  ServerReady: (_call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) => cb(null, { ready: true }),
  ModelReady: (_call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) => cb(null, { ready: true }),
  ModelInfer: (call: ServerUnaryCall<InferRequest, unknown>, cb: sendUnaryData<unknown>) => cb(null, answer(call.request, 0)),
  ModelStreamInfer: (call: ServerDuplexStream<InferRequest, unknown>) => {
    call.on('data', (request: InferRequest) => {
      const tokens = tokensOf(request);
      for (let seq = 0; seq < tokens; seq += 1) call.write({ error_message: '', infer_response: answer(request, seq) });
    });
    call.on('end', () => call.end());
    call.on('error', () => {});
  },
});
server.addService(defs[HEALTH_SERVICE] as ServiceDefinition, {
  Check: (_call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) => cb(null, { status: 'SERVING' }),
});

server.bindAsync(`127.0.0.1:${Number(process.argv[2] ?? 0)}`, ServerCredentials.createInsecure(), (error, port) => {
  if (error !== null) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`${JSON.stringify({ port })}\n`);
});
// The bench holds our stdin open; when it goes away, so do we.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
process.on('SIGTERM', () => server.tryShutdown(() => process.exit(0)));

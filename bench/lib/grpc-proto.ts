/**
 * The part of the KServe v2 gRPC contract (package inference, GRPCInferenceService) and of grpc.health.v1 the bench
 * serves and calls: ModelInfer (unary), ModelStreamInfer (bidi; one request may get many answers, as Triton's
 * decoupled models stream tokens), ServerLive/ServerReady/ModelReady and Health/Check for probes. Field numbers are the
 * public contract's, so infergate's probes (src/health/grpc) read these messages as they read a real server's.
 * The bench keeps its own copy rather than importing src/: it must run against any build given by INFERGATE_CLI.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';

const PROTO = `
syntax = "proto3";
package inference;
service GRPCInferenceService {
  rpc ServerLive(ServerLiveRequest) returns (ServerLiveResponse) {}
  rpc ServerReady(ServerReadyRequest) returns (ServerReadyResponse) {}
  rpc ModelReady(ModelReadyRequest) returns (ModelReadyResponse) {}
  rpc ModelInfer(ModelInferRequest) returns (ModelInferResponse) {}
  rpc ModelStreamInfer(stream ModelInferRequest) returns (stream ModelStreamInferResponse) {}
}
message ServerLiveRequest {}
message ServerLiveResponse { bool live = 1; }
message ServerReadyRequest {}
message ServerReadyResponse { bool ready = 1; }
message ModelReadyRequest { string name = 1; string version = 2; }
message ModelReadyResponse { bool ready = 1; }
message InferParameter { oneof parameter_choice { bool bool_param = 1; int64 int64_param = 2; string string_param = 3; } }
message InferTensorContents { repeated float fp32_contents = 6; }
message ModelInferRequest {
  message InferInputTensor { string name = 1; string datatype = 2; repeated int64 shape = 3; InferTensorContents contents = 5; }
  string model_name = 1;
  string model_version = 2;
  string id = 3;
  map<string, InferParameter> parameters = 4;
  repeated InferInputTensor inputs = 5;
}
message ModelInferResponse {
  message InferOutputTensor { string name = 1; string datatype = 2; repeated int64 shape = 3; InferTensorContents contents = 5; }
  string model_name = 1;
  string model_version = 2;
  string id = 3;
  map<string, InferParameter> parameters = 4;
  repeated InferOutputTensor outputs = 5;
}
message ModelStreamInferResponse { string error_message = 1; ModelInferResponse infer_response = 2; }
`;

const HEALTH = `
syntax = "proto3";
package grpc.health.v1;
message HealthCheckRequest { string service = 1; }
message HealthCheckResponse { enum ServingStatus { UNKNOWN = 0; SERVING = 1; NOT_SERVING = 2; SERVICE_UNKNOWN = 3; } ServingStatus status = 1; }
service Health { rpc Check(HealthCheckRequest) returns (HealthCheckResponse); }
`;

export const INFERENCE_SERVICE = 'inference.GRPCInferenceService';
export const HEALTH_SERVICE = 'grpc.health.v1.Health';
export const MODEL_INFER_PATH = `/${INFERENCE_SERVICE}/ModelInfer`;

export interface InferRequest {
  model_name: string;
  model_version?: string;
  id: string;
  parameters?: Record<string, { int64_param?: string | number; string_param?: string; bool_param?: boolean }>;
  inputs: Array<{ name: string; datatype: string; shape: Array<string | number>; contents: { fp32_contents: number[] } }>;
}

/** A small ModelInfer request: one FP32 [1, 4] input, like a tabular model's; `tokens` asks the stream for that many answers. */
export function smallInferRequest(id: string, tokens?: number): InferRequest {
  return {
    model_name: 'bench-model',
    model_version: '1',
    id,
    parameters: tokens === undefined ? {} : { tokens: { int64_param: tokens } },
    inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [0.12, 0.34, 0.56, 0.78] } }],
  };
}

let loaded: PackageDefinition | undefined;

/** Both contracts, loaded once (proto-loader reads files only, so the text goes through a temporary file). */
export function benchPackageDefinition(): PackageDefinition {
  if (loaded !== undefined) return loaded;
  const dir = mkdtempSync(join(tmpdir(), 'bench-proto-'));
  try {
    const files = [join(dir, 'inference.proto'), join(dir, 'health.proto')];
    writeFileSync(files[0] as string, PROTO);
    writeFileSync(files[1] as string, HEALTH);
    loaded = loadSync(files, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return loaded;
}

/** One gRPC message as it travels in a DATA frame: flag 0 (not compressed), 4-byte big-endian length, the protobuf bytes. */
export function grpcFrame(message: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}

/** The serialized ModelInfer request, for h2load -d. */
export function encodedInferRequest(request: InferRequest): Buffer {
  const method = benchPackageDefinition()[INFERENCE_SERVICE] as unknown as Record<string, { requestSerialize(value: unknown): Buffer }>;
  const infer = method.ModelInfer;
  if (infer === undefined) throw new Error('ModelInfer missing from the bench proto');
  return grpcFrame(infer.requestSerialize(request));
}

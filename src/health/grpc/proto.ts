// The gRPC contracts infergate speaks to model servers: KServe v2 / Triton GRPCInferenceService and grpc.health.v1.
//
// Written from the public contracts, with their field numbers: kserve/kserve docs/predict-api/v2/grpc_predict_v2.proto
// (package inference), Triton's grpc_service.proto for ModelStreamInfer and ModelConfig (triton-inference-server/common
// protobuf/model_config.proto: ModelConfig.parameters = 14, ModelParameter.string_value = 1), and grpc/grpc
// doc/health-checking.md (grpc.health.v1). Only what probes, admission and the test server need; protobuf ignores the
// fields a server sends beyond these, so a partial ModelConfig reads Triton's full one.
//
// The text lives in this module, not in .proto files, so dist/ needs no copied assets; @grpc/proto-loader reads only
// files, so the text is written once to a private temporary file (TMPDIR; /tmp is a writable emptyDir in deploy/),
// loaded, and the file removed.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';

export const INFERENCE_PROTO = `
syntax = "proto3";
package inference;

service GRPCInferenceService {
  rpc ServerLive(ServerLiveRequest) returns (ServerLiveResponse) {}
  rpc ServerReady(ServerReadyRequest) returns (ServerReadyResponse) {}
  rpc ModelReady(ModelReadyRequest) returns (ModelReadyResponse) {}
  rpc ModelMetadata(ModelMetadataRequest) returns (ModelMetadataResponse) {}
  rpc ModelInfer(ModelInferRequest) returns (ModelInferResponse) {}
  rpc ModelStreamInfer(stream ModelInferRequest) returns (stream ModelStreamInferResponse) {}
  rpc ModelConfig(ModelConfigRequest) returns (ModelConfigResponse) {}
}

message ServerLiveRequest {}
message ServerLiveResponse { bool live = 1; }
message ServerReadyRequest {}
message ServerReadyResponse { bool ready = 1; }
message ModelReadyRequest { string name = 1; string version = 2; }
message ModelReadyResponse { bool ready = 1; }
message ModelMetadataRequest { string name = 1; string version = 2; }
message ModelMetadataResponse {
  message TensorMetadata { string name = 1; string datatype = 2; repeated int64 shape = 3; }
  string name = 1;
  repeated string versions = 2;
  string platform = 3;
  repeated TensorMetadata inputs = 4;
  repeated TensorMetadata outputs = 5;
}

message InferParameter {
  oneof parameter_choice { bool bool_param = 1; int64 int64_param = 2; string string_param = 3; }
}
message InferTensorContents {
  repeated bool bool_contents = 1;
  repeated int32 int_contents = 2;
  repeated int64 int64_contents = 3;
  repeated uint32 uint_contents = 4;
  repeated uint64 uint64_contents = 5;
  repeated float fp32_contents = 6;
  repeated double fp64_contents = 7;
  repeated bytes bytes_contents = 8;
}
message ModelInferRequest {
  message InferInputTensor {
    string name = 1; string datatype = 2; repeated int64 shape = 3;
    map<string, InferParameter> parameters = 4; InferTensorContents contents = 5;
  }
  message InferRequestedOutputTensor { string name = 1; map<string, InferParameter> parameters = 2; }
  string model_name = 1;
  string model_version = 2;
  string id = 3;
  map<string, InferParameter> parameters = 4;
  repeated InferInputTensor inputs = 5;
  repeated InferRequestedOutputTensor outputs = 6;
  repeated bytes raw_input_contents = 7;
}
message ModelInferResponse {
  message InferOutputTensor {
    string name = 1; string datatype = 2; repeated int64 shape = 3;
    map<string, InferParameter> parameters = 4; InferTensorContents contents = 5;
  }
  string model_name = 1;
  string model_version = 2;
  string id = 3;
  map<string, InferParameter> parameters = 4;
  repeated InferOutputTensor outputs = 5;
  repeated bytes raw_output_contents = 6;
}
message ModelStreamInferResponse { string error_message = 1; ModelInferResponse infer_response = 2; }

message ModelConfigRequest { string name = 1; string version = 2; }
message ModelParameter { string string_value = 1; }
message ModelConfig { string name = 1; string platform = 2; map<string, ModelParameter> parameters = 14; }
message ModelConfigResponse { ModelConfig config = 1; }
`;

export const HEALTH_PROTO = `
syntax = "proto3";
package grpc.health.v1;

message HealthCheckRequest { string service = 1; }
message HealthCheckResponse {
  enum ServingStatus { UNKNOWN = 0; SERVING = 1; NOT_SERVING = 2; SERVICE_UNKNOWN = 3; }
  ServingStatus status = 1;
}
service Health {
  rpc Check(HealthCheckRequest) returns (HealthCheckResponse);
  rpc Watch(HealthCheckRequest) returns (stream HealthCheckResponse);
}
`;

export const INFERENCE_SERVICE = 'inference.GRPCInferenceService';
export const HEALTH_SERVICE = 'grpc.health.v1.Health';

/** Messages as the loader returns them: snake_case fields, 64-bit integers as strings, enums as names, defaults filled in. */
export const LOADER_OPTIONS = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true } as const;

let loaded: PackageDefinition | null = null;

/** Both contracts as one package definition (loaded once per process). */
export function packageDefinition(): PackageDefinition {
  if (loaded !== null) return loaded;
  const dir = mkdtempSync(join(tmpdir(), 'infergate-proto-'));
  try {
    const files = [join(dir, 'grpc_predict_v2.proto'), join(dir, 'health.proto')];
    writeFileSync(files[0]!, INFERENCE_PROTO);
    writeFileSync(files[1]!, HEALTH_PROTO);
    loaded = loadSync(files, LOADER_OPTIONS);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return loaded;
}

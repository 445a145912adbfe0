// gRPC probe and metadata defaults shared by the presets: GRPCInferenceService (KServe v2, Triton) and grpc.health.v1.
import { HEALTH_SERVICE, INFERENCE_SERVICE } from '../grpc/proto.js';
import type { GrpcCall, MetadataLocation, ModelSpec, PresetProbes, ProbeDefaults } from './types.js';

/** A probe that makes one gRPC call; its path is the method's HTTP/2 path, as logs and /admin/backends show it. */
export function rpc(call: GrpcCall): ProbeDefaults {
  const service = call.rpc === 'Check' ? HEALTH_SERVICE : INFERENCE_SERVICE;
  return { path: `/${service}/${call.rpc}`, method: 'POST', expectStatus: null, expectBody: null, grpc: call };
}

const live = rpc({ rpc: 'ServerLive' });

/**
 * ServerLive for startup and liveness; readiness per model when one is named (the gRPC twin of /v2/models/{name}/ready,
 * for the same reason: server readiness turns false while another model loads), else ServerReady. `versioned`:
 * the configured version gates readiness directly (Triton), or the version is left to admission (KServe).
 */
export function inferenceProbes(model: ModelSpec, versioned: boolean): PresetProbes {
  const readiness = model.name === null ? rpc({ rpc: 'ServerReady' }) : rpc({ rpc: 'ModelReady', name: model.name, version: versioned ? (model.version ?? '') : '' });
  return { startup: live, readiness, liveness: live, modelReady: null };
}

/** ModelMetadata of the named model (every loaded version listed), with ModelConfig parameters when a checksum is expected. */
export function inferenceMetadata(model: ModelSpec): MetadataLocation | null {
  if (model.name === null) return null;
  return { path: `/${INFERENCE_SERVICE}/ModelMetadata`, base: 'origin', grpc: { name: model.name, config: model.md5 !== null } };
}

// Preset for NVIDIA Triton: per-model (and per-version) ready when a model is named, server ready otherwise.
//
// Verified against triton-inference-server/server src/http_server.cc (HandleServerHealth, HandleModelReady,
// HandleModelMetadata): ready -> 200 with empty body, not ready -> 400 (newer releases add
// {"error":"Model version not ready"}); metadata {name, versions, platform, inputs, outputs}.
// triton-inference-server/server#7014 (and #5940): in explicit model-control mode /v2/health/ready turns false
// while *another* model loads, because server ready means "all models ready"; per-model ready does not.
// On a pool with protocol h2 (Triton's gRPC port, 8001) the same checks go over gRPC (grpc_service.proto): ServerLive,
// ModelReady with the configured version, ModelMetadata, and ModelConfig `parameters` for a checksum.
import { openInferenceFacts } from './open-inference.js';
import { get, seg } from './probe.js';
import { inferenceMetadata, inferenceProbes } from './grpc-calls.js';
import { HTTP1, type ModelFacts, type ModelSpec, type Preset, type PresetProbes, type Transport } from './types.js';

const live = get('/v2/health/live', [200]);

export const tritonPreset: Preset = {
  name: 'triton',
  probes(model: ModelSpec, transport: Transport = HTTP1): PresetProbes {
    if (transport.protocol === 'h2') return inferenceProbes(model, true);
    let readiness = get('/v2/health/ready', [200]);
    if (model.name !== null) {
      // Triton serves version-specific readiness, so a configured version gates readiness directly.
      const base = `/v2/models/${seg(model.name)}`;
      readiness = get(model.version === null ? `${base}/ready` : `${base}/versions/${seg(model.version)}/ready`, [200]);
    }
    return { startup: live, readiness, liveness: live, modelReady: null };
  },
  metadata(model: ModelSpec, transport: Transport = HTTP1) {
    if (transport.protocol === 'h2') return inferenceMetadata(model);
    // Unversioned: it lists every ready version, which is what admission compares against.
    return model.name === null ? null : { path: `/v2/models/${seg(model.name)}`, base: 'origin' };
  },
  facts(metadata: unknown, model: ModelSpec): ModelFacts {
    return openInferenceFacts(metadata, model);
  },
};

// Preset for KServe v2 / Open Inference Protocol servers: per-model ready when a model is named, else server ready.
//
// Verified against kserve/kserve docs/predict-api/v2/required_api.md (200 = true, 4xx = false, body should be
// empty) and python/kserve/kserve/protocol/rest/v2_endpoints.py + errors.py (the KServe Python server answers
// 200 {"ready": true} / {"name", "ready": true}, 503 {"error": "Model with name X is not ready."} while
// loading, 404 for an unknown model). Only the status code is read: bodies differ between servers.
// On a pool with protocol h2 the same checks go over gRPC (docs/predict-api/v2/grpc_predict_v2.proto): ServerLive,
// ModelReady (unversioned, as over REST) or ServerReady, and ModelMetadata for admission (presets/grpc-calls.ts).
import { openInferenceFacts } from './open-inference.js';
import { get, seg } from './probe.js';
import { inferenceMetadata, inferenceProbes } from './grpc-calls.js';
import { HTTP1, type ModelFacts, type ModelSpec, type Preset, type PresetProbes, type Transport } from './types.js';

const live = get('/v2/health/live', [200]);

export const kserveV2Preset: Preset = {
  name: 'kserve-v2',
  probes(model: ModelSpec, transport: Transport = HTTP1): PresetProbes {
    if (transport.protocol === 'h2') return inferenceProbes(model, false);
    return {
      startup: live,
      // The unversioned path: the KServe Python server raises NotImplementedError for /versions/{v}/ready.
      // The version is checked through metadata `versions` instead.
      readiness: model.name === null ? get('/v2/health/ready', [200]) : get(`/v2/models/${seg(model.name)}/ready`, [200]),
      liveness: live,
      modelReady: null,
    };
  },
  metadata(model: ModelSpec, transport: Transport = HTTP1) {
    if (transport.protocol === 'h2') return inferenceMetadata(model);
    return model.name === null ? null : { path: `/v2/models/${seg(model.name)}`, base: 'origin' };
  },
  facts(metadata: unknown, model: ModelSpec): ModelFacts {
    return openInferenceFacts(metadata, model);
  },
};

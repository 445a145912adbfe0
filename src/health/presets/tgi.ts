// Preset for Hugging Face text-generation-inference: /health 200, identity and commit sha from /info.
//
// Verified against huggingface/text-generation-inference router/src/server.rs (GET /health -> 200 empty,
// 503 {"error":"unhealthy","error_type":"healthcheck"}; GET /info), router/src/lib.rs struct Info
// {model_id, model_sha, model_dtype, model_device_type, model_pipeline_tag, max_*, version, sha, docker_label}
// (newer releases drop model_dtype), and launcher/src/main.rs, which starts the webserver only after every shard
// is ready, so the port is closed while the model loads.
import { readPointer, scalarText } from '../metadata.js';
import { get } from './probe.js';
import type { ModelFacts, Preset, PresetProbes } from './types.js';

const health = get('/health', [200]);

export const tgiPreset: Preset = {
  name: 'tgi',
  probes(): PresetProbes {
    return { startup: health, readiness: health, liveness: health, modelReady: null };
  },
  metadata: () => ({ path: '/info', base: 'origin' }),
  facts(metadata: unknown): ModelFacts {
    // model_sha is the Hub commit of the weights: the closest thing to an artifact checksum TGI reports.
    return {
      name: scalarText(readPointer(metadata, '/model_id')),
      version: null,
      checksum: scalarText(readPointer(metadata, '/model_sha')),
      raw: metadata,
    };
  },
};

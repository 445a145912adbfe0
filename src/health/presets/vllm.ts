// Preset for the vLLM OpenAI-compatible server: /health 200, model identity from /v1/models.
//
// Verified against vllm-project/vllm: vllm/entrypoints/serve/instrumentator/health.py (GET /health -> 200 empty
// body, 503 on EngineDeadError); vllm/entrypoints/openai/api_server.py create_server_socket binds the port
// without listening, and uvicorn starts only after the engine is built (vllm-project/vllm#50282), so while a
// model loads connections are refused; protocol.py ModelList/ModelCard: {object:"list", data:[{id,
// object:"model", created, owned_by:"vllm", root, parent, max_model_len, permission}]}.
import { readPointer, scalarText } from '../metadata.js';
import { get } from './probe.js';
import type { ModelFacts, ModelSpec, Preset, PresetProbes } from './types.js';

const health = get('/health', [200]);

export const vllmPreset: Preset = {
  name: 'vllm',
  probes(): PresetProbes {
    // One endpoint for all roles: it answers only once the engine is up and turns 503 when the engine dies.
    return { startup: health, readiness: health, liveness: health, modelReady: null };
  },
  metadata: () => ({ path: '/v1/models', base: 'origin' }),
  facts(metadata: unknown, model: ModelSpec): ModelFacts {
    // The served model name (--served-model-name) is the id; LoRA adapters appear as further entries.
    const data = readPointer(metadata, '/data');
    const ids = Array.isArray(data) ? data.map((d) => scalarText(readPointer(d, '/id'))).filter((id): id is string => id !== null) : [];
    const name = model.name !== null && ids.includes(model.name) ? model.name : (ids[0] ?? null);
    // vLLM reports no version or checksum; operators who need a version put it in the served name.
    return { name, version: null, checksum: null, raw: metadata };
  },
};

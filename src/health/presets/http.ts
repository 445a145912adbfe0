// Preset for any HTTP model server (FastAPI and friends): 2xx on /health; metadata only by operator override.
import { factsFromPointers } from '../metadata.js';
import { get } from './probe.js';
import type { ModelFacts, Preset, PresetProbes } from './types.js';

export const httpPreset: Preset = {
  name: 'http',
  probes(): PresetProbes {
    return { startup: null, readiness: get('/health', null), liveness: null, modelReady: null };
  },
  // A generic server has no known metadata endpoint; the operator names one with metadataPath + pointers.
  metadata: () => null,
  facts(metadata: unknown): ModelFacts {
    return factsFromPointers(metadata);
  },
};

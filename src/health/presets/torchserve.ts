// Preset for TorchServe: /ping must say "Healthy" in its body, and the model's first worker must be READY.
//
// Verified against pytorch/serve:
// - frontend/.../http/api/rest/InferenceRequestHandler.java + util/ApiUtils.java: GET /ping answers
//   {"status": "Healthy" | "Partial Healthy" | "Unhealthy"}. Up to 0.7 the status code was always 200
//   (getWorkerStatus; aws/deep-learning-containers#2917); later versions answer 500 + "Unhealthy" unless every
//   model has minWorkers healthy workers (isModelHealthy). With no model registered yet it says "Healthy"
//   (pytorch/serve#2434, #2099), hence the management check below.
// - docs/management_api.md + http/messages/DescribeModelResponse.java: management API (default port 8081)
//   GET /models/{name} describes the default version as a one-element array of
//   {modelName, modelVersion, modelUrl, ..., workers: [{id, status: "READY" | "UNLOADING", ...}]};
//   404 {"code":404,"type":"ModelNotFoundException"} for an unknown model.
import { readPointer, scalarText } from '../metadata.js';
import { get, seg } from './probe.js';
import type { ModelFacts, ModelSpec, Preset, PresetProbes } from './types.js';

export const TORCHSERVE_MANAGEMENT_PORT = 8081;

/** The frontend answers /ping at all (200 or 500): the process is up. */
const pingAnswers = get('/ping', [200, 500]);

export const torchservePreset: Preset = {
  name: 'torchserve',
  probes(model: ModelSpec): PresetProbes {
    return {
      startup: pingAnswers,
      // Exactly "Healthy": old releases send 200 for "Unhealthy" and "Partial Healthy" too.
      readiness: get('/ping', [200], { kind: 'json', pointer: '/status', equals: 'Healthy' }),
      liveness: pingAnswers,
      // The default version is what /predictions/{name} serves, so that is the one whose worker must be READY.
      modelReady: model.name === null ? null : get(`/models/${seg(model.name)}`, [200], { kind: 'json', pointer: '/0/workers/0/status', equals: 'READY' }, 'management'),
    };
  },
  metadata(model: ModelSpec) {
    // Default version on purpose: admitting a registered-but-not-default version would pass a backend
    // whose /predictions/{name} still serves the old one.
    // The checksum lives in the handler's customized metadata, which TorchServe returns only on request.
    if (model.name === null) return null;
    return { path: `/models/${seg(model.name)}${model.md5 === null ? '' : '?customized=true'}`, base: 'management' };
  },
  facts(metadata: unknown): ModelFacts {
    // `?customized=true` adds the handler's describe_handle() output; an md5 there is used when present.
    return {
      name: scalarText(readPointer(metadata, '/0/modelName')),
      version: scalarText(readPointer(metadata, '/0/modelVersion')),
      checksum: scalarText(readPointer(metadata, '/0/customizedMetadata/md5')),
      raw: metadata,
    };
  },
};

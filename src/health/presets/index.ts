// Health presets per model server, and where their probes and metadata requests are sent.
import { grpcPreset } from './grpc.js';
import { httpPreset } from './http.js';
import { kserveV2Preset } from './kserve-v2.js';
import { tgiPreset } from './tgi.js';
import { TORCHSERVE_MANAGEMENT_PORT, torchservePreset } from './torchserve.js';
import { tritonPreset } from './triton.js';
import type { Preset, PresetName, ProbeBase } from './types.js';
import { vllmPreset } from './vllm.js';

export type { BodyExpectation, GrpcCall, MetadataLocation, ModelFacts, ModelSpec, Preset, PresetName, PresetProbes, ProbeBase, ProbeDefaults, Transport } from './types.js';
export { HTTP1 } from './types.js';
export { TORCHSERVE_MANAGEMENT_PORT } from './torchserve.js';

const PRESETS: Record<PresetName, Preset> = {
  http: httpPreset,
  torchserve: torchservePreset,
  'kserve-v2': kserveV2Preset,
  triton: tritonPreset,
  vllm: vllmPreset,
  tgi: tgiPreset,
  grpc: grpcPreset,
};

export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

export function presetFor(name: PresetName): Preset {
  return PRESETS[name];
}

/** TorchServe's management API on the backend's host at port 8081, when the operator names no other. */
export function defaultManagementOrigin(origin: string, port: number = TORCHSERVE_MANAGEMENT_PORT): string {
  const url = new URL(origin);
  url.port = String(port);
  return url.origin;
}

/** Absolute URL of a probe or metadata request for one backend. */
export function requestUrl(origin: string, target: { path: string; base?: ProbeBase }, managementOrigin: string | null = null): string {
  const base = target.base === 'management' ? (managementOrigin ?? defaultManagementOrigin(origin)) : origin;
  return base + target.path;
}

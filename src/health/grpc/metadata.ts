// Model metadata over gRPC: ModelMetadata (and, for a checksum, ModelConfig parameters) as the JSON document the HTTP
// metadata endpoint returns ({name, versions, platform, inputs, outputs, parameters}), so one reader judges both.
import type { Clock } from '../../clock.js';
import type { GrpcProbeClient } from './client.js';

interface ModelMetadataResponse {
  name: string;
  versions: string[];
  platform: string;
  inputs: Array<{ name: string; datatype: string; shape: string[] }>;
  outputs: Array<{ name: string; datatype: string; shape: string[] }>;
}

interface ModelConfigResponse {
  config: { name: string; platform: string; parameters: Record<string, { string_value: string }> } | null;
}

export type GrpcMetadata = { ok: true; doc: Record<string, unknown> } | { ok: false; reason: string };

/**
 * `config`: also read ModelConfig, whose `parameters` (Triton's config.pbtxt `parameters { key: "md5" ... }`) carry what
 * the protocol's metadata has no field for; a server without that RPC (KServe) says UNIMPLEMENTED, shown as the reason.
 */
export async function readGrpcMetadata(client: GrpcProbeClient, model: { name: string; config: boolean }, timeoutMs: number, clock: Clock): Promise<GrpcMetadata> {
  const meta = await client.call<ModelMetadataResponse>('ModelMetadata', { name: model.name, version: '' }, timeoutMs, clock);
  if (!meta.ok) return { ok: false, reason: `ModelMetadata ${model.name} unreadable: ${meta.message}` };
  const m = meta.value;
  const doc: Record<string, unknown> = { name: m.name, versions: m.versions, platform: m.platform, inputs: m.inputs, outputs: m.outputs };
  if (!model.config) return { ok: true, doc };
  const cfg = await client.call<ModelConfigResponse>('ModelConfig', { name: model.name, version: '' }, timeoutMs, clock);
  if (!cfg.ok) return { ok: false, reason: `ModelConfig ${model.name} unreadable (the checksum is read from its parameters): ${cfg.message}` };
  const params = cfg.value.config?.parameters ?? {};
  doc.parameters = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, v.string_value]));
  return { ok: true, doc };
}

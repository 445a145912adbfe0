// Model admission: read the backend's metadata and compare name / version / checksum with the configuration.
import type { Dispatcher } from 'undici';
import type { Clock } from '../clock.js';
import { boundedRequest } from './bounded-request.js';
import type { GrpcProbeClient } from './grpc/client.js';
import { readGrpcMetadata } from './grpc/metadata.js';
import { localFailureCode } from './local-failure.js';
import { admit, describeMismatches, factsFromPointers, type Mismatch } from './metadata.js';
import { requestUrl, defaultManagementOrigin, type ModelFacts, type ModelSpec } from './presets/index.js';
import type { ResolvedHealth } from './resolve.js';

const MAX_METADATA_BYTES = 1024 * 1024;

export type AdmissionResult =
  | { ok: true; facts: ModelFacts }
  /** `local`: the errno code when the metadata could not be read for a reason on our side (see local-failure.ts). */
  | { ok: false; reason: string; mismatches: Mismatch[]; facts: ModelFacts | null; local?: string };

export interface AdmissionDeps {
  clock: Clock;
  dispatcher: Dispatcher;
  /** The backend's gRPC channel, for metadata read over gRPC (h2 pools of kserve-v2 / triton). */
  grpc?: GrpcProbeClient;
}

/** Fetch metadata and judge it; a metadata endpoint that cannot be read is a mismatch with a reason, never a pass. */
export async function checkAdmission(origin: string, health: ResolvedHealth, timeoutMs: number, deps: AdmissionDeps): Promise<AdmissionResult> {
  const model = health.model;
  if (model === null) return { ok: true, facts: { name: null, version: null, checksum: null, raw: null } };
  if (health.metadata === null) {
    return { ok: false, reason: `preset ${health.preset.name} has no metadata endpoint: set health.model.metadataPath`, mismatches: [], facts: null };
  }
  const grpc = health.metadata.grpc;
  if (grpc !== undefined) {
    if (deps.grpc === undefined) return { ok: false, reason: 'gRPC metadata without a gRPC client', mismatches: [], facts: null };
    const g = await readGrpcMetadata(deps.grpc, grpc, timeoutMs, deps.clock);
    return g.ok ? judge(g.doc, health, model) : { ok: false, reason: g.reason, mismatches: [], facts: null };
  }
  const url = requestUrl(origin, health.metadata, defaultManagementOrigin(origin, health.managementPort));
  const r = await boundedRequest({ url, timeoutMs, maxBodyBytes: MAX_METADATA_BYTES, overLimit: 'fail' }, deps);
  if (!r.ok) {
    const why = r.failure.kind === 'too-large' ? 'metadata larger than 1 MiB' : r.failure.message;
    const local = r.failure.kind === 'transport' ? localFailureCode(r.failure.code) : null;
    return { ok: false, reason: `metadata ${url} unreadable: ${why}`, mismatches: [], facts: null, ...(local === null ? {} : { local }) };
  }
  if (r.status < 200 || r.status >= 300) {
    return { ok: false, reason: `metadata ${url} answered ${r.status}`, mismatches: [], facts: null };
  }
  let doc: unknown;
  try {
    doc = JSON.parse(r.body);
  } catch (err) {
    return { ok: false, reason: `metadata ${url} unreadable: ${(err as Error).message}`, mismatches: [], facts: null };
  }
  return judge(doc, health, model);
}

function judge(doc: unknown, health: ResolvedHealth, model: ModelSpec): AdmissionResult {
  const facts = readFacts(doc, health, model);
  const verdict = admit(model, facts);
  if (verdict.ok) return { ok: true, facts };
  return { ok: false, reason: `model mismatch: ${describeMismatches(verdict.mismatches)}`, mismatches: verdict.mismatches, facts };
}

/**
 * A custom metadata document is read by pointers only (defaults /name, /version, /md5 then /parameters/md5);
 * a preset's own document by the preset, with each pointer the operator set overriding just its field.
 */
function readFacts(doc: unknown, health: ResolvedHealth, model: ModelSpec): ModelFacts {
  const pointers = health.pointers;
  if (health.customMetadata) return factsFromPointers(doc, pointers ?? {});
  const facts = health.preset.facts(doc, model);
  if (pointers === null) return facts;
  const over = factsFromPointers(doc, pointers);
  return {
    name: pointers.namePointer !== undefined ? over.name : facts.name,
    version: pointers.versionPointer !== undefined ? over.version : facts.version,
    checksum: pointers.checksumPointer !== undefined ? over.checksum : facts.checksum,
    raw: doc,
  };
}

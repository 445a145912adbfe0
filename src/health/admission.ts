// Model admission: read the backend's metadata and compare name / version / checksum with the configuration.
import { request, type Dispatcher } from 'undici';
import type { Clock } from '../clock.js';
import { admit, describeMismatches, factsFromPointers, type Mismatch } from './metadata.js';
import { requestUrl, defaultManagementOrigin, type ModelFacts, type ModelSpec } from './presets/index.js';
import type { ResolvedHealth } from './resolve.js';

const MAX_METADATA_BYTES = 1024 * 1024;

export type AdmissionResult =
  | { ok: true; facts: ModelFacts }
  | { ok: false; reason: string; mismatches: Mismatch[]; facts: ModelFacts | null };

export interface AdmissionDeps {
  clock: Clock;
  dispatcher: Dispatcher;
}

/** Fetch metadata and judge it; a metadata endpoint that cannot be read is a mismatch with a reason, never a pass. */
export async function checkAdmission(origin: string, health: ResolvedHealth, timeoutMs: number, deps: AdmissionDeps): Promise<AdmissionResult> {
  const model = health.model;
  if (model === null) return { ok: true, facts: { name: null, version: null, checksum: null, raw: null } };
  if (health.metadata === null) {
    return { ok: false, reason: `preset ${health.preset.name} has no metadata endpoint: set health.model.metadataPath`, mismatches: [], facts: null };
  }
  const url = requestUrl(origin, health.metadata, defaultManagementOrigin(origin, health.managementPort));
  let doc: unknown;
  const ac = new AbortController();
  const timer = deps.clock.setTimer(timeoutMs, () => ac.abort(new Error(`timed out after ${timeoutMs}ms`)));
  try {
    const res = await request(url, { dispatcher: deps.dispatcher, method: 'GET', signal: ac.signal, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    const text = await readText(res.body);
    if (res.statusCode < 200 || res.statusCode >= 300) {
      return { ok: false, reason: `metadata ${url} answered ${res.statusCode}`, mismatches: [], facts: null };
    }
    doc = JSON.parse(text);
  } catch (err) {
    const reason = ac.signal.aborted ? (ac.signal.reason as Error).message : (err as Error).message;
    return { ok: false, reason: `metadata ${url} unreadable: ${reason}`, mismatches: [], facts: null };
  } finally {
    timer.cancel();
  }
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

async function readText(body: AsyncIterable<Buffer> & { destroy(): void }): Promise<string> {
  let text = '';
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_METADATA_BYTES) {
      body.destroy();
      throw new Error('metadata larger than 1 MiB');
    }
    text += chunk.toString('utf8');
  }
  return text;
}

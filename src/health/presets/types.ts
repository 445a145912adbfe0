// The shapes a health preset fills in: probe defaults per role, where model metadata lives, and what it says.

export type PresetName = 'http' | 'torchserve' | 'kserve-v2' | 'triton' | 'vllm' | 'tgi';

/** What a probe's response body must say. `json` reads one value by RFC 6901 pointer and compares it strictly. */
export type BodyExpectation =
  | { kind: 'substring'; text: string }
  | { kind: 'json'; pointer: string; equals: string | number | boolean };

/** Which listener a probe or metadata request goes to: the backend origin, or TorchServe's management API. */
export type ProbeBase = 'origin' | 'management';

export interface ProbeDefaults {
  path: string;
  method: 'GET';
  /** Status codes that pass; null = any 2xx. */
  expectStatus: number[] | null;
  expectBody: BodyExpectation | null;
  /** Absolute base override (TorchServe management API), else the backend origin. */
  base?: ProbeBase;
}

/** The model an operator expects on a backend; every field optional (null = not checked). */
export interface ModelSpec {
  name: string | null;
  version: string | null;
  md5: string | null;
}

export interface PresetProbes {
  /** Passes once the process answers at all; until then liveness and readiness are not judged (Kubernetes startupProbe). */
  startup: ProbeDefaults | null;
  readiness: ProbeDefaults;
  liveness: ProbeDefaults | null;
  /** Extra readiness condition evaluated after readiness passes, e.g. TorchServe worker READY via the management API. */
  modelReady: ProbeDefaults | null;
}

export interface ModelFacts {
  name: string | null;
  /**
   * The version the server reports. Servers that list several loaded versions (KServe v2 / Triton `versions`)
   * report the expected version when it is listed, otherwise all listed versions joined by ", ".
   */
  version: string | null;
  checksum: string | null;
  /** Everything read, for /admin/backends. */
  raw: unknown;
}

export interface MetadataLocation {
  path: string;
  base: ProbeBase;
}

export interface Preset {
  readonly name: PresetName;
  probes(model: ModelSpec): PresetProbes;
  /** Where model metadata lives, or null when the server exposes none (or none without a model name). */
  metadata(model: ModelSpec): MetadataLocation | null;
  /** Read name / version / checksum from the metadata JSON. Never throws: unreadable fields come back null. */
  facts(metadata: unknown, model: ModelSpec): ModelFacts;
}

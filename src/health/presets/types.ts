// The shapes a health preset fills in: probe defaults per role, where model metadata lives, and what it says.

export type PresetName = 'http' | 'torchserve' | 'kserve-v2' | 'triton' | 'vllm' | 'tgi' | 'grpc';

/** How probes reach the backends: the pool's protocol, and the service preset grpc asks about. */
export interface Transport {
  protocol: 'http1' | 'h2';
  grpcService: string;
}

export const HTTP1: Transport = { protocol: 'http1', grpcService: '' };

/** A gRPC call a preset makes instead of an HTTP request (pools with protocol h2; see health/grpc/). */
export type GrpcCall =
  | { rpc: 'ServerLive' }
  | { rpc: 'ServerReady' }
  /** version '' = the server's choice (KServe: the unversioned model). */
  | { rpc: 'ModelReady'; name: string; version: string }
  | { rpc: 'Check'; service: string };

/** What a probe's response body must say. `json` reads one value by RFC 6901 pointer and compares it strictly. */
export type BodyExpectation =
  | { kind: 'substring'; text: string }
  | { kind: 'json'; pointer: string; equals: string | number | boolean };

/** Which listener a probe or metadata request goes to: the backend origin, or TorchServe's management API. */
export type ProbeBase = 'origin' | 'management';

export interface ProbeDefaults {
  /** For a gRPC probe, the method's HTTP/2 path (/inference.GRPCInferenceService/ModelReady): what logs and /admin show. */
  path: string;
  method: 'GET' | 'POST';
  /** Status codes that pass; null = any 2xx. */
  expectStatus: number[] | null;
  expectBody: BodyExpectation | null;
  /** Absolute base override (TorchServe management API), else the backend origin. */
  base?: ProbeBase;
  /** A gRPC call instead of an HTTP request: expectStatus and expectBody do not apply. */
  grpc?: GrpcCall;
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
  /**
   * Read over gRPC instead: ModelMetadata of this model, plus ModelConfig parameters when a checksum is expected
   * (ModelMetadata has no checksum field; Triton's model configuration `parameters` can carry one).
   */
  grpc?: { name: string; config: boolean };
}

export interface Preset {
  readonly name: PresetName;
  /** Default probes; a preset that knows the server's gRPC API returns gRPC calls when the transport is h2. */
  probes(model: ModelSpec, transport?: Transport): PresetProbes;
  /** Where model metadata lives, or null when the server exposes none (or none without a model name). */
  metadata(model: ModelSpec, transport?: Transport): MetadataLocation | null;
  /** Read name / version / checksum from the metadata JSON. Never throws: unreadable fields come back null. */
  facts(metadata: unknown, model: ModelSpec): ModelFacts;
}

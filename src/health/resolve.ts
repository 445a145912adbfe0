// Health as configured + the preset's defaults -> concrete probes per role; explicit keys always win.
import { IMPLICIT_PROBES } from '../config/defaults.js';
import type { HealthSpec, ProbeSpec, UpstreamProtocol } from '../config/types.js';
import type { FactPointers } from './metadata.js';
import { presetFor, type BodyExpectation, type GrpcCall, type MetadataLocation, type ModelSpec, type Preset, type ProbeBase, type ProbeDefaults, type Transport } from './presets/index.js';

export type ProbeRole = 'startup' | 'readiness' | 'liveness' | 'model-ready';

export interface ResolvedProbe {
  readonly role: ProbeRole;
  readonly path: string;
  readonly base: ProbeBase;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
  readonly expectStatus: number[] | null;
  readonly expectBody: BodyExpectation | null;
  /** A gRPC call instead of an HTTP request (a preset's default on an h2 pool); an operator-written path is always HTTP. */
  readonly grpc: GrpcCall | null;
}

export interface ResolvedHealth {
  readonly preset: Preset;
  readonly jitter: number;
  readonly startup: ResolvedProbe | null;
  readonly readiness: ResolvedProbe;
  /** Checked together with readiness: both must pass (TorchServe: the model's worker is READY). */
  readonly modelReady: ResolvedProbe | null;
  readonly liveness: ResolvedProbe | null;
  readonly startupTimeoutMs: number;
  /** What admission compares against; null = no admission. */
  readonly model: ModelSpec | null;
  readonly metadata: MetadataLocation | null;
  /** Operator pointers into the metadata; null = none set. */
  readonly pointers: FactPointers | null;
  /** The operator named the metadata endpoint (metadataPath): its format is theirs, read only by pointers. */
  readonly customMetadata: boolean;
  readonly managementPort: number;
}

function merge(role: ProbeRole, spec: ProbeSpec, preset: ProbeDefaults | null, fallbackPath: string): ResolvedProbe {
  return {
    role,
    path: spec.path ?? preset?.path ?? fallbackPath,
    // An operator-written path is on the backend origin; a preset's may be on the management API.
    base: spec.path === undefined ? (preset?.base ?? 'origin') : 'origin',
    method: spec.method ?? preset?.method ?? 'GET',
    headers: spec.headers,
    intervalMs: spec.intervalMs,
    timeoutMs: spec.timeoutMs,
    healthyThreshold: spec.healthyThreshold,
    unhealthyThreshold: spec.unhealthyThreshold,
    expectStatus: spec.expectStatus !== undefined ? spec.expectStatus : spec.path === undefined ? (preset?.expectStatus ?? null) : null,
    expectBody: spec.expectBody !== undefined ? spec.expectBody : spec.path === undefined ? (preset?.expectBody ?? null) : null,
    grpc: spec.path === undefined ? (preset?.grpc ?? null) : null,
  };
}

function optionalRole(role: 'startup' | 'liveness', spec: ProbeSpec | false | null, preset: ProbeDefaults | null, readinessPath: string): ResolvedProbe | null {
  if (spec === false) return null;
  if (spec === null) return preset === null ? null : merge(role, IMPLICIT_PROBES[role], preset, readinessPath);
  return merge(role, spec, preset, readinessPath);
}

/** `protocol`: the pool's; on h2, presets that know the server's gRPC API probe and read metadata over gRPC. */
export function resolveHealth(spec: HealthSpec, protocol: UpstreamProtocol = 'http1'): ResolvedHealth {
  const preset = presetFor(spec.preset);
  const m = spec.model;
  const model: ModelSpec = { name: m?.name ?? null, version: m?.version ?? null, md5: m?.md5 ?? null };
  const transport: Transport = { protocol, grpcService: spec.grpcService };
  const defaults = preset.probes(model, transport);
  const readiness = merge('readiness', spec.readiness, defaults.readiness, '/health');
  const checks = model.name !== null || model.version !== null || model.md5 !== null;
  const anyPointer = m !== null && (m.namePointer !== null || m.versionPointer !== null || m.checksumPointer !== null);
  const pointers: FactPointers | null = anyPointer ? compact({ namePointer: m.namePointer, versionPointer: m.versionPointer, checksumPointer: m.checksumPointer }) : null;
  return {
    preset,
    jitter: spec.jitter,
    startup: optionalRole('startup', spec.startup, defaults.startup, readiness.path),
    readiness,
    // The operator replaced the readiness check: the preset's extra model condition no longer applies.
    modelReady: spec.readiness.path === undefined && defaults.modelReady !== null ? merge('model-ready', { ...spec.readiness, expectStatus: undefined, expectBody: undefined }, defaults.modelReady, readiness.path) : null,
    liveness: optionalRole('liveness', spec.liveness, defaults.liveness, readiness.path),
    startupTimeoutMs: spec.startupTimeoutMs,
    model: checks ? model : null,
    metadata: m?.metadataPath != null ? { path: m.metadataPath, base: 'origin' } : preset.metadata(model, transport),
    pointers,
    customMetadata: m !== null && m.metadataPath !== null,
    managementPort: spec.managementPort,
  };
}

function compact(p: { namePointer: string | null; versionPointer: string | null; checksumPointer: string | null }): FactPointers {
  const out: FactPointers = {};
  if (p.namePointer !== null) out.namePointer = p.namePointer;
  if (p.versionPointer !== null) out.versionPointer = p.versionPointer;
  if (p.checksumPointer !== null) out.checksumPointer = p.checksumPointer;
  return out;
}

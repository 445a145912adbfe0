// Preset for any gRPC server: the standard grpc.health.v1 Health/Check; SERVING is ready, anything else is not.
//
// Verified against grpc/grpc doc/health-checking.md: Check(HealthCheckRequest{service}) answers SERVING, NOT_SERVING or
// UNKNOWN; a service the server does not know is the call status NOT_FOUND (SERVICE_UNKNOWN is for Watch only);
// service "" asks about the server as a whole. The service name comes from health.grpcService.
import { factsFromPointers } from '../metadata.js';
import { rpc } from './grpc-calls.js';
import { HTTP1, type ModelFacts, type ModelSpec, type Preset, type PresetProbes, type Transport } from './types.js';

export const grpcPreset: Preset = {
  name: 'grpc',
  probes(_model: ModelSpec, transport: Transport = HTTP1): PresetProbes {
    // No startup or liveness of its own, as the http preset: one Check answers "can it serve".
    return { startup: null, readiness: rpc({ rpc: 'Check', service: transport.grpcService }), liveness: null, modelReady: null };
  },
  // The health service reports a status, no model (config checks refuse health.model with this preset).
  metadata: () => null,
  facts(metadata: unknown): ModelFacts {
    return factsFromPointers(metadata);
  },
};

// One gRPC probe (GRPCInferenceService ServerLive / ServerReady / ModelReady, or grpc.health.v1 Check) judged as an HTTP
// probe is: ready, not ready with the reason, or an error in words — so the state machine cannot tell them apart.
import type { Clock } from '../../clock.js';
import type { GrpcCall } from '../presets/index.js';
import type { GrpcProbeClient } from './client.js';

export interface GrpcProbeResult {
  ok: boolean;
  ms: number;
  error: string | null;
}

interface Answer {
  live?: boolean;
  ready?: boolean;
  status?: string;
}

export async function runGrpcProbe(call: GrpcCall, client: GrpcProbeClient, timeoutMs: number, clock: Clock): Promise<GrpcProbeResult> {
  const started = clock.now();
  const r = await client.call<Answer>(call.rpc, request(call), timeoutMs, clock);
  const ms = clock.now() - started;
  if (!r.ok) return { ok: false, ms, error: r.message };
  const why = verdict(call, r.value);
  return { ok: why === null, ms, error: why };
}

function request(call: GrpcCall): object {
  switch (call.rpc) {
    case 'ServerLive':
    case 'ServerReady':
      return {};
    case 'ModelReady':
      return { name: call.name, version: call.version };
    case 'Check':
      return { service: call.service };
    default: {
      const never: never = call;
      throw new Error(`unknown gRPC probe ${JSON.stringify(never)}`);
    }
  }
}

/** null when the answer says ready (live, SERVING), else why not. */
function verdict(call: GrpcCall, a: Answer): string | null {
  switch (call.rpc) {
    case 'ServerLive':
      return a.live === true ? null : 'live: false';
    case 'ServerReady':
    case 'ModelReady':
      return a.ready === true ? null : 'ready: false';
    case 'Check':
      // UNKNOWN and NOT_SERVING alike: only SERVING takes traffic.
      return a.status === 'SERVING' ? null : `status ${a.status ?? 'missing'}`;
    default: {
      const never: never = call;
      return `unknown gRPC probe ${JSON.stringify(never)}`;
    }
  }
}

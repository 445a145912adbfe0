// One HTTP probe against a backend (runProbe), judged by the probe's expected status and body.
import type { Dispatcher } from 'undici';
import type { Clock } from '../clock.js';
import { checkResponse } from './body-check.js';
import { boundedRequest, type RequestFailure } from './bounded-request.js';
import type { GrpcProbeClient } from './grpc/client.js';
import { runGrpcProbe } from './grpc/probe.js';
import { localFailureCode, localFailureInText } from './local-failure.js';
import { requestUrl } from './presets/index.js';
import type { ResolvedProbe } from './resolve.js';

/** A longer body is cut: the expectation is judged on at most its first 64 KiB. */
const MAX_BODY_BYTES = 64 * 1024;

export interface ProbeResult {
  ok: boolean;
  status: number | null;
  ms: number;
  /** Why it failed, in words fit for a log line and /admin/backends. */
  error: string | null;
  /**
   * The errno code when the probe failed on our side (EMFILE, ENOBUFS ... see local-failure.ts): it says nothing about
   * the backend, whose state must not move. Null otherwise.
   */
  local: string | null;
}

export interface ProberDeps {
  clock: Clock;
  random: () => number;
  dispatcher: Dispatcher;
  /** The backend's gRPC channel, for probes that are gRPC calls. */
  grpc?: GrpcProbeClient;
}

/** Run one probe (HTTP, or a gRPC call) against a backend; never throws. `managementOrigin` serves probes whose base is the management API. */
export async function runProbe(origin: string, probe: ResolvedProbe, managementOrigin: string | null, deps: ProberDeps): Promise<ProbeResult> {
  if (probe.grpc !== null) {
    if (deps.grpc === undefined) return { ok: false, status: null, ms: 0, error: 'gRPC probe without a gRPC client', local: null };
    const g = await runGrpcProbe(probe.grpc, deps.grpc, probe.timeoutMs, deps.clock);
    return { ok: g.ok, status: null, ms: g.ms, error: g.error, local: g.ok ? null : localFailureInText(g.error) };
  }
  const r = await boundedRequest(
    {
      url: requestUrl(origin, probe, managementOrigin),
      method: probe.method as Dispatcher.HttpMethod,
      headers: probe.headers,
      timeoutMs: probe.timeoutMs,
      maxBodyBytes: MAX_BODY_BYTES,
      overLimit: 'truncate',
      // A fresh connection per probe: the answer is about the server now, not a stale pooled socket.
      reset: true,
    },
    deps,
  );
  if (!r.ok) return { ok: false, status: null, ms: r.ms, error: describe(r.failure), local: r.failure.kind === 'transport' ? localFailureCode(r.failure.code) : null };
  const verdict = checkResponse(r.status, r.body, probe);
  return { ok: verdict.ok, status: r.status, ms: r.ms, error: verdict.reason, local: null };
}

/** Transport errors lead with their code: "ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:8000". */
function describe(f: RequestFailure): string {
  return f.kind === 'transport' && f.code !== null ? `${f.code}: ${f.message}`.trim() : f.message;
}

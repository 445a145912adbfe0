// One gRPC channel to one backend for its probes and metadata reads: each call bounded by the probe timeout on the
// injected clock (and by a gRPC deadline the server sees), its outcome a value, never a throw.
import { Client, Metadata, credentials, status, type ChannelCredentials, type ChannelOptions, type ServiceError } from '@grpc/grpc-js';
import type { MethodDefinition } from '@grpc/proto-loader';
import type { Clock } from '../../clock.js';
import type { UpstreamTlsConfig } from '../../config/types.js';
import { HEALTH_SERVICE, INFERENCE_SERVICE, packageDefinition } from './proto.js';

/** Largest answer read (metadata documents included), as the HTTP metadata read allows. */
const MAX_MESSAGE_BYTES = 1024 * 1024;

export type GrpcOutcome<T> =
  | { ok: true; value: T }
  /** `code`: the gRPC status (null when infergate's own timer ended the call); `message` fit for a log line. */
  | { ok: false; timeout: boolean; code: number | null; message: string };

/** Statuses that say nothing about the model but about the connection: the next call starts on a new channel. */
const TRANSPORT = new Set<number>([status.UNAVAILABLE, status.DEADLINE_EXCEEDED, status.CANCELLED, status.UNKNOWN, status.INTERNAL]);

export class GrpcProbeClient {
  readonly #target: string;
  readonly #credentials: () => ChannelCredentials;
  readonly #options: ChannelOptions;
  #channel: Client | null = null;
  #closed = false;

  constructor(origin: string, tls: UpstreamTlsConfig | null) {
    const url = new URL(origin);
    const secure = url.protocol === 'https:';
    this.#target = `${url.hostname}:${url.port === '' ? (secure ? '443' : '80') : url.port}`;
    this.#credentials = secure ? () => sslCredentials(tls) : () => credentials.createInsecure();
    this.#options = {
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      // One probe is one attempt: a retry inside grpc-js would hide a failing server from the thresholds.
      'grpc.enable_retries': 0,
      ...(secure && tls?.servername ? { 'grpc.ssl_target_name_override': tls.servername, 'grpc.default_authority': tls.servername } : {}),
    };
  }

  /** One unary call of GRPCInferenceService or grpc.health.v1.Health, e.g. call('ModelReady', { name }, 1000, clock). */
  call<T>(method: string, request: object, timeoutMs: number, clock: Clock): Promise<GrpcOutcome<T>> {
    if (this.#closed) return Promise.resolve({ ok: false, timeout: false, code: null, message: 'gRPC client closed' });
    const service = method === 'Check' ? HEALTH_SERVICE : INFERENCE_SERVICE;
    let def: Record<string, MethodDefinition<object, T>> | undefined;
    try {
      def = packageDefinition()[service] as Record<string, MethodDefinition<object, T>> | undefined;
    } catch (err) {
      // The definitions are loaded through a temporary file (see proto.ts): a read-only TMPDIR is our fault, not the backend's.
      return Promise.resolve({ ok: false, timeout: false, code: null, message: `infergate cannot load its gRPC definitions: ${(err as Error).message}` });
    }
    const m = def?.[method];
    if (m === undefined) return Promise.resolve({ ok: false, timeout: false, code: status.UNIMPLEMENTED, message: `unknown method ${service}/${method}` });
    const channel = (this.#channel ??= new Client(this.#target, this.#credentials(), this.#options));
    return new Promise((resolve) => {
      let timedOut = false;
      const call = channel.makeUnaryRequest<object, T>(m.path, m.requestSerialize, m.responseDeserialize, request, new Metadata(), { deadline: Date.now() + timeoutMs }, (err: ServiceError | null, value?: T) => {
        timer.cancel();
        if (err === null && value !== undefined) return resolve({ ok: true, value });
        const code = err?.code ?? status.UNKNOWN;
        // A broken connection or a call cut short: the next probe dials afresh rather than wait out grpc-js's reconnect back-off.
        if (TRANSPORT.has(code)) this.#recycle(channel);
        if (timedOut || code === status.DEADLINE_EXCEEDED) return resolve({ ok: false, timeout: true, code: timedOut ? null : code, message: `timed out after ${timeoutMs}ms` });
        resolve({ ok: false, timeout: false, code, message: `${status[code] ?? code}: ${err?.details || err?.message || 'no answer'}` });
      });
      const timer = clock.setTimer(timeoutMs, () => {
        timedOut = true;
        call.cancel();
      });
    });
  }

  /** Close the channel (backend removed, reload, shutdown); later calls fail without dialing. */
  close(): void {
    this.#closed = true;
    this.#channel?.close();
    this.#channel = null;
  }

  #recycle(channel: Client): void {
    if (this.#channel !== channel) return;
    this.#channel = null;
    channel.close();
  }
}

/** TLS as the pool's tls block says: CA, client certificate (mTLS), server name (set as channel options), verification. */
function sslCredentials(tls: UpstreamTlsConfig | null): ChannelCredentials {
  if (tls === null) return credentials.createSsl();
  const verify = tls.verify ? {} : { rejectUnauthorized: false, checkServerIdentity: () => undefined };
  return credentials.createSsl(tls.ca, tls.key, tls.cert, verify);
}

// A real gRPC model server for tests: KServe v2 / Triton GRPCInferenceService plus grpc.health.v1, built on @grpc/grpc-js
// over the same proto text infergate's probes use (src/health/grpc/proto.ts), on 127.0.0.1 (h2c, or TLS when given).
//
// Use:
//   const fake = await new FakeGrpcKServe({ model: 'simple', version: '2', replica: 'a' }).start();
//   fake.url                 'http://127.0.0.1:PORT' (https:// with tls) — a backend URL for an h2 pool
//   fake.target              '127.0.0.1:PORT' — for a @grpc/grpc-js client; inferenceClient(target) builds one
//   fake.ready = false       model not ready: ModelReady false, ModelMetadata / ModelInfer UNAVAILABLE
//   fake.serverReady, fake.live, fake.model, fake.version, fake.md5   change what the server reports, at any time
//   fake.health.set('', 'NOT_SERVING')   grpc.health.v1 status per service ('' = the server); unknown -> NOT_FOUND
//   await fake.stop(); await fake.restart()   kill (connections reset) and come back on the same port
//
// What it records: `calls` (every RPC: method, request metadata, the deadline left when it arrived, and how it ended),
// `count(method)`, `cancelled` (methods whose call the client cancelled or whose deadline passed while held), and
// events 'call' / 'cancelled' / 'end' to wait on.
//
// ModelInfer (unary) echoes: output "echo" = the first input's contents, raw_output_contents = raw_input_contents, id
// echoed, response parameter `replica` and header/trailer `x-replica` name the replica; trailer `x-infer-count` counts.
// Request parameters steer it:
//   delay_ms (int64)   answer after this many ms (real time); cancelled meanwhile -> recorded, no answer
//   hold (bool)        never answer: waits for the client's cancellation or deadline (recorded)
//   fail (string)      answer with this gRPC status name (e.g. "INVALID_ARGUMENT") and message `fail_message`
// ModelStreamInfer (bidi, as Triton's): per request, `tokens` (int64, default 1) responses, each an infer_response
// with parameter `seq` (0..n-1) and `replica`, `interval_ms` apart; `fail` answers one error_message instead. The
// stream ends (status OK, trailers) when the client half-closes and every answer was sent.
import { EventEmitter } from 'node:events';
import { Metadata, Server, ServerCredentials, credentials, loadPackageDefinition, status, Client, type GrpcObject, type ServerDuplexStream, type ServerUnaryCall, type ServiceClientConstructor, type ServiceDefinition, type UntypedServiceImplementation, type sendUnaryData } from '@grpc/grpc-js';
import { HEALTH_SERVICE, INFERENCE_SERVICE, packageDefinition } from '../../src/health/grpc/proto.js';

export type ServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

export interface FakeGrpcTls {
  cert: Buffer | string;
  key: Buffer | string;
  /** CA that client certificates must chain to; with requireClientCert, mutual TLS. */
  ca?: Buffer | string;
  requireClientCert?: boolean;
}

export interface FakeGrpcKServeOptions {
  model?: string;
  version?: string;
  /** Reported as ModelConfig parameters { md5: { string_value } } (Triton config.pbtxt parameters). */
  md5?: string | null;
  /** Model ready (default true). */
  ready?: boolean;
  /** Name of this replica, in every inference answer. */
  replica?: string;
  tls?: FakeGrpcTls;
  /** Fixed port (default 0: any free one, kept across restart()). */
  port?: number;
}

/** One RPC as the server saw it. */
export interface GrpcCallRecord {
  method: string;
  /** Request metadata (headers) as the server received them. */
  metadata: Record<string, unknown>;
  /** ms left until the call's deadline when it arrived (from grpc-timeout); null when it had none. */
  deadlineMs: number | null;
  /** How it ended: 'ok', a status name, or 'cancelled'; null while in progress. */
  end: string | null;
}

type Params = Record<string, { bool_param?: boolean; int64_param?: string; string_param?: string; parameter_choice?: string }>;

interface InferRequest {
  model_name: string;
  model_version: string;
  id: string;
  parameters: Params;
  inputs: Array<{ name: string; datatype: string; shape: string[]; contents: Record<string, unknown> | null }>;
  raw_input_contents: Buffer[];
}

export class FakeGrpcKServe {
  model: string;
  version: string;
  md5: string | null;
  ready: boolean;
  serverReady = true;
  live = true;
  replica: string;
  /** grpc.health.v1 status per service name ('' = the server as a whole). */
  readonly health = new Map<string, ServingStatus>([['', 'SERVING'], [INFERENCE_SERVICE, 'SERVING']]);
  readonly calls: GrpcCallRecord[] = [];
  readonly cancelled: string[] = [];
  readonly events = new EventEmitter();
  port: number;
  readonly #tls: FakeGrpcTls | undefined;
  #server: Server | null = null;
  #inferCount = 0;

  constructor(opts: FakeGrpcKServeOptions = {}) {
    this.model = opts.model ?? 'simple';
    this.version = opts.version ?? '1';
    this.md5 = opts.md5 ?? null;
    this.ready = opts.ready ?? true;
    this.replica = opts.replica ?? 'replica';
    this.#tls = opts.tls;
    this.port = opts.port ?? 0;
  }

  get url(): string {
    return `${this.#tls === undefined ? 'http' : 'https'}://127.0.0.1:${this.port}`;
  }

  get target(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** RPCs of this method received so far (ModelReady, ModelInfer, Check, ...). */
  count(method: string): number {
    return this.calls.filter((c) => c.method === method).length;
  }

  async start(): Promise<this> {
    const server = new Server();
    const defs = packageDefinition();
    server.addService(defs[INFERENCE_SERVICE] as ServiceDefinition, this.#inference());
    server.addService(defs[HEALTH_SERVICE] as ServiceDefinition, this.#healthService());
    const creds = this.#tls === undefined
      ? ServerCredentials.createInsecure()
      : ServerCredentials.createSsl(this.#tls.ca === undefined ? null : Buffer.from(this.#tls.ca), [{ private_key: Buffer.from(this.#tls.key), cert_chain: Buffer.from(this.#tls.cert) }], this.#tls.requireClientCert ?? false);
    this.port = await new Promise<number>((resolve, reject) => server.bindAsync(`127.0.0.1:${this.port}`, creds, (err, port) => (err ? reject(err) : resolve(port))));
    this.#server = server;
    return this;
  }

  /** Kill the server: open connections are reset, calls in flight end (as a crashed process's would). */
  async stop(): Promise<void> {
    const s = this.#server;
    this.#server = null;
    if (s === null) return;
    s.forceShutdown();
  }

  /** Come back on the same port (a restarted process: the state set on this object is kept). */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async close(): Promise<void> {
    await this.stop();
  }

  #record(method: string, call: { metadata: Metadata; getDeadline(): Date | number }): GrpcCallRecord {
    const d = call.getDeadline();
    const at = d instanceof Date ? d.getTime() : d;
    const rec: GrpcCallRecord = { method, metadata: call.metadata.getMap(), deadlineMs: Number.isFinite(at) ? at - Date.now() : null, end: null };
    this.calls.push(rec);
    this.events.emit('call', rec);
    return rec;
  }

  #ended(rec: GrpcCallRecord, how: string): void {
    if (rec.end !== null) return;
    rec.end = how;
    if (how === 'cancelled') {
      this.cancelled.push(rec.method);
      this.events.emit('cancelled', rec);
    }
    this.events.emit('end', rec);
  }

  /** A unary handler that records the call and answers `fn`'s value, or the error it throws as [status, message]. */
  #unary<Req, Res>(method: string, fn: (req: Req) => Res): (call: ServerUnaryCall<Req, Res>, cb: sendUnaryData<Res>) => void {
    return (call, cb) => {
      const rec = this.#record(method, call);
      try {
        const value = fn(call.request);
        this.#ended(rec, 'ok');
        cb(null, value);
      } catch (err) {
        const [code, message] = err as [number, string];
        this.#ended(rec, status[code] ?? String(code));
        cb({ code, details: message });
      }
    };
  }

  #modelUsable(name: string): void {
    if (name !== this.model) throw [status.NOT_FOUND, `Request for unknown model: '${name}' is not found`];
    if (!this.ready) throw [status.UNAVAILABLE, `Request for unknown model: '${name}' has no available versions`];
  }

  #inference(): UntypedServiceImplementation {
    return {
      ServerLive: this.#unary('ServerLive', () => ({ live: this.live })),
      ServerReady: this.#unary('ServerReady', () => ({ ready: this.serverReady && this.ready })),
      ModelReady: this.#unary('ModelReady', (r: { name: string; version: string }) => ({ ready: r.name === this.model && this.ready && (r.version === '' || r.version === this.version) })),
      ModelMetadata: this.#unary('ModelMetadata', (r: { name: string }) => {
        this.#modelUsable(r.name);
        return {
          name: this.model,
          versions: [this.version],
          platform: 'fake_grpc',
          inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: ['-1', '4'] }],
          outputs: [{ name: 'echo', datatype: 'FP32', shape: ['-1', '4'] }],
        };
      }),
      ModelConfig: this.#unary('ModelConfig', (r: { name: string }) => {
        this.#modelUsable(r.name);
        return { config: { name: this.model, platform: 'fake_grpc', parameters: this.md5 === null ? {} : { md5: { string_value: this.md5 } } } };
      }),
      ModelInfer: (call: ServerUnaryCall<InferRequest, unknown>, cb: sendUnaryData<unknown>) => this.#infer(call, cb),
      ModelStreamInfer: (call: ServerDuplexStream<InferRequest, unknown>) => this.#streamInfer(call),
    };
  }

  #healthService(): UntypedServiceImplementation {
    return {
      Check: this.#unary('Check', (r: { service: string }) => {
        const s = this.health.get(r.service);
        if (s === undefined) throw [status.NOT_FOUND, `unknown service ${r.service}`];
        return { status: s };
      }),
      Watch: (call: ServerDuplexStream<{ service: string }, unknown>) => {
        const rec = this.#record('Watch', call);
        call.write({ status: this.health.get(call.request?.service ?? '') ?? 'SERVICE_UNKNOWN' });
        call.on('cancelled', () => this.#ended(rec, 'cancelled'));
      },
    };
  }

  #answer(req: InferRequest, extra: Params = {}): Record<string, unknown> {
    const first = req.inputs[0];
    return {
      model_name: this.model,
      model_version: this.version,
      id: req.id,
      parameters: { replica: { string_param: this.replica }, ...extra },
      outputs: first === undefined ? [] : [{ name: 'echo', datatype: first.datatype, shape: first.shape, contents: first.contents }],
      raw_output_contents: req.raw_input_contents,
    };
  }

  #infer(call: ServerUnaryCall<InferRequest, unknown>, cb: sendUnaryData<unknown>): void {
    const rec = this.#record('ModelInfer', call);
    const req = call.request;
    const p = req.parameters ?? {};
    let timer: NodeJS.Timeout | null = null;
    call.on('cancelled', () => {
      if (timer !== null) clearTimeout(timer);
      this.#ended(rec, 'cancelled');
    });
    const reply = (): void => {
      if (rec.end !== null) return;
      this.#inferCount++;
      const trailers = new Metadata();
      trailers.set('x-replica', this.replica);
      trailers.set('x-infer-count', String(this.#inferCount));
      const head = new Metadata();
      head.set('x-replica', this.replica);
      call.sendMetadata(head);
      try {
        this.#modelUsable(req.model_name);
        if (req.model_version !== '' && req.model_version !== this.version) throw [status.NOT_FOUND, `Request for unknown model: '${req.model_name}' version ${req.model_version} is not found`];
        const fail = p.fail?.string_param;
        if (fail !== undefined) throw [status[fail as keyof typeof status] ?? status.UNKNOWN, p.fail_message?.string_param ?? `failed as asked (${fail})`];
      } catch (err) {
        const [code, details] = err as [number, string];
        this.#ended(rec, status[code] ?? String(code));
        cb({ code, details, metadata: trailers });
        return;
      }
      this.#ended(rec, 'ok');
      cb(null, this.#answer(req), trailers);
    };
    if (p.hold?.bool_param === true) return;
    const delay = Number(p.delay_ms?.int64_param ?? 0);
    if (delay > 0) timer = setTimeout(reply, delay);
    else reply();
  }

  #streamInfer(call: ServerDuplexStream<InferRequest, unknown>): void {
    const rec = this.#record('ModelStreamInfer', call);
    let pending = 0;
    let clientDone = false;
    const timers = new Set<NodeJS.Timeout>();
    const finish = (): void => {
      if (!clientDone || pending > 0 || rec.end !== null) return;
      this.#ended(rec, 'ok');
      const trailers = new Metadata();
      trailers.set('x-replica', this.replica);
      call.end(trailers);
    };
    call.on('cancelled', () => {
      for (const t of timers) clearTimeout(t);
      this.#ended(rec, 'cancelled');
    });
    call.on('data', (req: InferRequest) => {
      this.#inferCount++;
      const p = req.parameters ?? {};
      const fail = p.fail?.string_param;
      if (fail !== undefined) {
        call.write({ error_message: p.fail_message?.string_param ?? `failed as asked (${fail})`, infer_response: null });
        return;
      }
      const n = Math.max(1, Number(p.tokens?.int64_param ?? 1));
      const interval = Number(p.interval_ms?.int64_param ?? 0);
      pending += n;
      for (let i = 0; i < n; i++) {
        const send = (): void => {
          if (rec.end !== null) return;
          call.write({ error_message: '', infer_response: this.#answer(req, { seq: { int64_param: String(i) } }) });
          pending--;
          finish();
        };
        if (interval > 0) {
          const t = setTimeout(() => {
            timers.delete(t);
            send();
          }, interval * (i + 1));
          timers.add(t);
        } else send();
      }
    });
    call.on('end', () => {
      clientDone = true;
      finish();
    });
  }
}

/** A @grpc/grpc-js client of GRPCInferenceService (methods ModelInfer, ModelStreamInfer, ModelReady, ...), for tests. */
export function inferenceClient(target: string, creds = credentials.createInsecure(), options: Record<string, unknown> = {}): Client & Record<string, (...args: unknown[]) => unknown> {
  const pkg = loadPackageDefinition(packageDefinition()) as GrpcObject;
  const Ctor = (pkg.inference as GrpcObject).GRPCInferenceService as ServiceClientConstructor;
  return new Ctor(target, creds, options) as unknown as Client & Record<string, (...args: unknown[]) => unknown>;
}

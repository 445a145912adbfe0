// A fake NVIDIA Triton (HTTP, explicit model-control mode), including the server-ready quirk of server#7014.
//
// Behaviour from triton-inference-server/server src/http_server.cc: health answers carry no body, 200 or 400;
// model ready not ready -> 400 {"error":"Model version not ready"}; unknown model -> 400; metadata
// {name, versions, platform, inputs, outputs}. Server ready means "every model ready", so it turns false
// while any other model loads (loadOtherModel), while the per-model ready of this one stays true.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Timer } from '../../src/clock.js';
import { FakeModelServer, parseJson, segments, sendEmpty, sendJson, type FakeServerOptions } from './base.js';

export interface FakeTritonOptions extends FakeServerOptions {
  /** Ready versions of the model (default: [version]). */
  versions?: string[];
}

export class FakeTriton extends FakeModelServer {
  versions: string[];
  #otherLoading = 0;
  #otherTimers = new Set<Timer>();

  constructor(opts: FakeTritonOptions = {}) {
    super(opts, 'densenet_onnx');
    this.versions = opts.versions ?? [this.version];
    this.listener((req, res, url) => this.#handle(req, res, url));
  }

  /** Another model loads for `ms` (POST /v2/repository/models/other/load in explicit mode). */
  loadOtherModel(ms: number): void {
    this.#otherLoading++;
    const t = this.clock.setTimer(ms, () => {
      this.#otherLoading--;
      this.#otherTimers.delete(t);
    });
    this.#otherTimers.add(t);
  }

  get serverReady(): boolean {
    return this.loaded && this.#otherLoading === 0;
  }

  override async close(): Promise<void> {
    for (const t of this.#otherTimers) t.cancel();
    await super.close();
  }

  #handle(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const p = segments(url);
    if (p[0] !== 'v2') return sendEmpty(res, 400);
    if (p[1] === 'health' && p.length === 3) {
      this.probeRequests++;
      if (req.method !== 'GET') return sendJson(res, 405, { error: 'Method Not Allowed' });
      if (p[2] === 'live') return sendEmpty(res, 200);
      if (p[2] === 'ready') return sendEmpty(res, this.serverReady ? 200 : 400);
    }
    if (p[1] !== 'models' || p[2] === undefined) return sendEmpty(res, 400);
    const name = p[2];
    let rest = p.slice(3);
    let version: string | null = null;
    if (rest[0] === 'versions' && rest[1] !== undefined) {
      version = rest[1];
      rest = rest.slice(2);
    }
    if (req.method === 'POST' && rest.length === 1 && rest[0] === 'infer') return this.#infer(req, res, name, version);
    this.probeRequests++;
    if (req.method !== 'GET') return sendJson(res, 405, { error: 'Method Not Allowed' });
    const known = name === this.model;
    const available = known && this.loaded && (version === null || this.versions.includes(version));
    if (rest.length === 1 && rest[0] === 'ready') {
      if (!known) return sendJson(res, 400, { error: `Request for unknown model: '${name}' is not found` });
      return available ? sendEmpty(res, 200) : sendJson(res, 400, { error: 'Model version not ready' });
    }
    if (rest.length === 0) {
      if (!available) return sendJson(res, 400, { error: `Request for unknown model: '${name}' has no available versions` });
      return sendJson(res, 200, this.#metadata());
    }
    sendEmpty(res, 400);
  }

  #metadata(): Record<string, unknown> {
    const doc: Record<string, unknown> = {
      name: this.model,
      versions: this.versions,
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'data_0', datatype: 'FP32', shape: [3, 224, 224] }],
      outputs: [{ name: 'fc6_1', datatype: 'FP32', shape: [1000] }],
    };
    if (this.md5 !== null) doc['parameters'] = { md5: this.md5 };
    return doc;
  }

  #infer(req: IncomingMessage, res: ServerResponse, name: string, version: string | null): void {
    const { fail } = this.inference();
    this.afterBody(req, (body) => {
      const available = name === this.model && this.loaded && (version === null || this.versions.includes(version));
      if (!available) return sendJson(res, 400, { error: `Request for unknown model: '${name}' has no available versions` });
      if (fail) return sendJson(res, 500, { error: 'onnx runtime error 6: Non-zero status code returned while running node' });
      const request = parseJson(body);
      sendJson(res, 200, {
        model_name: this.model,
        model_version: version ?? this.versions[this.versions.length - 1] ?? this.version,
        ...(typeof request?.['id'] === 'string' ? { id: request['id'] } : {}),
        outputs: [{ name: 'fc6_1', datatype: 'FP32', shape: [1], data: [this.random()] }],
      });
    });
  }
}

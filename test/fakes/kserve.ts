// A fake KServe Python model server speaking the v2 / Open Inference Protocol over REST.
//
// Behaviour from kserve/kserve python/kserve/kserve/protocol/rest/v2_endpoints.py and errors.py:
// 200 {"live":true} / {"ready":true} / {"name","ready":true}; 503 {"error":"Model with name X is not ready."}
// while loading; 404 {"error":"Model with name X does not exist."}; versioned paths are not implemented
// (NotImplementedError -> 501 in current releases); inference errors 500 {"error": ...}.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FakeModelServer, parseJson, segments, sendJson, type FakeServerOptions } from './base.js';

export class FakeKServe extends FakeModelServer {
  constructor(opts: FakeServerOptions = {}) {
    super(opts, 'sklearn-iris');
    this.listener((req, res, url) => this.#handle(req, res, url));
  }

  #handle(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const p = segments(url);
    if (p[0] !== 'v2') return sendJson(res, 404, { detail: 'Not Found' });
    if (p[1] === 'health' && p.length === 3 && req.method === 'GET') {
      this.probeRequests++;
      if (p[2] === 'live') return sendJson(res, 200, { live: true });
      if (p[2] === 'ready') return this.loaded ? sendJson(res, 200, { ready: true }) : sendJson(res, 503, { error: 'Server is not ready.' });
    }
    if (p[1] !== 'models' || p[2] === undefined) return sendJson(res, 404, { detail: 'Not Found' });
    const name = p[2];
    let rest = p.slice(3);
    if (rest[0] === 'versions') {
      if (req.method === 'POST') this.inferenceRequests++;
      else this.probeRequests++;
      return sendJson(res, 501, { error: 'Model versioning not supported yet.' });
    }
    if (req.method === 'POST' && rest.length === 1 && rest[0] === 'infer') return this.#infer(req, res, name);
    if (req.method !== 'GET') return sendJson(res, 405, { detail: 'Method Not Allowed' });
    this.probeRequests++;
    if (name !== this.model) return sendJson(res, 404, { error: `Model with name ${name} does not exist.` });
    if (!this.loaded) return sendJson(res, 503, { error: `Model with name ${name} is not ready.` });
    rest = rest.filter((s) => s !== '');
    if (rest.length === 1 && rest[0] === 'ready') return sendJson(res, 200, { name, ready: true });
    if (rest.length === 0) return sendJson(res, 200, this.#metadata());
    sendJson(res, 404, { detail: 'Not Found' });
  }

  #metadata(): Record<string, unknown> {
    const doc: Record<string, unknown> = {
      name: this.model,
      versions: [this.version],
      platform: '',
      inputs: [{ name: 'input-0', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [{ name: 'output-0', datatype: 'INT32', shape: [-1] }],
    };
    if (this.md5 !== null) doc['parameters'] = { md5: this.md5 };
    return doc;
  }

  #infer(req: IncomingMessage, res: ServerResponse, name: string): void {
    const { fail } = this.inference();
    this.afterBody(req, (body) => {
      if (name !== this.model) return sendJson(res, 404, { error: `Model with name ${name} does not exist.` });
      if (!this.loaded) return sendJson(res, 503, { error: `Model with name ${name} is not ready.` });
      if (fail) return sendJson(res, 500, { error: 'InferenceError : model raised an exception' });
      const request = parseJson(body);
      sendJson(res, 200, {
        model_name: this.model,
        model_version: this.version,
        id: typeof request?.['id'] === 'string' ? request['id'] : 'fake-id',
        parameters: null,
        outputs: [{ name: 'output-0', shape: [1], datatype: 'INT32', data: [Math.floor(this.random() * 3)] }],
      });
    });
  }
}

// A fake TorchServe: inference API (/ping, /predictions) and a management API on a second port, with its quirks.
//
// Quirks reproduced (see src/health/presets/torchserve.ts for sources):
// - /ping: `pingStyle: 'legacy'` (<= 0.7, the default) always answers 200, the body says Healthy / Unhealthy;
//   'current' answers 500 + Unhealthy. setUnhealthyBody() forces 200 {"status":"Unhealthy"} (DLC#2917).
// - While workers load, the management API describes them as "UNLOADING" (not yet WORKER_MODEL_LOADED).
// - `registerLate`: the model is not registered until it has loaded, so /ping says "Healthy" with no model
//   at all (pytorch/serve#2434) and the management API answers 404.
// - Handler failures answer 503 {"code":503,"type":"InternalServerException","message":"Prediction failed"}.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FakeModelServer, segments, sendJson, type FakeServerOptions } from './base.js';

export interface FakeTorchServeOptions extends FakeServerOptions {
  pingStyle?: 'legacy' | 'current';
  registerLate?: boolean;
  /** Workers per model (minWorkers). */
  workers?: number;
}

export class FakeTorchServe extends FakeModelServer {
  pingStyle: 'legacy' | 'current';
  registerLate: boolean;
  workers: number;
  #forceUnhealthyBody = false;

  constructor(opts: FakeTorchServeOptions = {}) {
    super(opts, 'mlp');
    this.pingStyle = opts.pingStyle ?? 'legacy';
    this.registerLate = opts.registerLate ?? false;
    this.workers = opts.workers ?? 1;
    this.listener((req, res, url) => this.#inferenceApi(req, res, url));
    this.listener((req, res, url) => this.#managementApi(req, res, url));
  }

  /** Management API port (8081 on a real server). */
  get managementPort(): number {
    return this.portOf(1);
  }

  get managementUrl(): string {
    return `http://127.0.0.1:${this.managementPort}`;
  }

  /** /ping answers 200 {"status":"Unhealthy"} from now on, whatever the workers do (aws/deep-learning-containers#2917). */
  setUnhealthyBody(on = true): void {
    this.#forceUnhealthyBody = on;
  }

  get #registered(): boolean {
    return this.loaded || !this.registerLate;
  }

  #inferenceApi(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const parts = segments(url);
    if (parts[0] === 'ping' && parts.length === 1) {
      this.probeRequests++;
      this.#ping(res);
      return;
    }
    if (parts[0] === 'predictions' && req.method === 'POST' && parts[1] !== undefined) {
      this.#predict(req, res, parts[1], parts[2] ?? null);
      return;
    }
    sendJson(res, 404, { code: 404, type: 'ResourceNotFoundException', message: 'Requested resource is not found, please refer to API document.' });
  }

  #ping(res: ServerResponse): void {
    if (this.#forceUnhealthyBody) {
      sendJson(res, 200, { status: 'Unhealthy' });
      return;
    }
    // ApiUtils.getWorkerStatus: no registered model at all counts as Healthy.
    const healthy = !this.#registered || this.loaded;
    if (healthy) sendJson(res, 200, { status: 'Healthy' });
    else sendJson(res, this.pingStyle === 'legacy' ? 200 : 500, { status: 'Unhealthy' });
  }

  #predict(req: IncomingMessage, res: ServerResponse, name: string, version: string | null): void {
    const { fail } = this.inference();
    this.afterBody(req, () => {
      if (name !== this.model || !this.#registered) {
        sendJson(res, 404, { code: 404, type: 'ModelNotFoundException', message: `Model not found: ${name}` });
        return;
      }
      if (version !== null && version !== this.version) {
        sendJson(res, 404, { code: 404, type: 'ModelVersionNotFoundException', message: `Model version: ${version} does not exist for model: ${name}` });
        return;
      }
      if (!this.loaded) {
        sendJson(res, 503, {
          code: 503,
          type: 'ServiceUnavailableException',
          message: `Model "${name}" has no worker to serve inference request. Please use scale workers API to add workers.`,
        });
        return;
      }
      if (fail) {
        sendJson(res, 503, { code: 503, type: 'InternalServerException', message: 'Prediction failed' });
        return;
      }
      sendJson(res, 200, { model: this.model, version: this.version, port: this.port, prediction: Math.round(this.random() * 1000) / 1000 });
    });
  }

  #managementApi(req: IncomingMessage, res: ServerResponse, url: URL): void {
    this.probeRequests++;
    const parts = segments(url);
    if (req.method !== 'GET' || parts[0] !== 'models') {
      sendJson(res, 405, { code: 405, type: 'MethodNotAllowedException', message: 'Requested method is not allowed, please refer to API document.' });
      return;
    }
    if (parts.length === 1 || parts[1] === '') {
      sendJson(res, 200, { models: this.#registered ? [{ modelName: this.model, modelUrl: `${this.model}.mar` }] : [] });
      return;
    }
    const name = parts[1];
    const version = parts[2];
    if (name !== this.model || !this.#registered) {
      sendJson(res, 404, { code: 404, type: 'ModelNotFoundException', message: `Model not found: ${name}` });
      return;
    }
    if (version !== undefined && version !== 'all' && version !== this.version) {
      sendJson(res, 404, { code: 404, type: 'ModelVersionNotFoundException', message: `Model version: ${version} does not exist for model: ${name}` });
      return;
    }
    sendJson(res, 200, [this.#describe(url.searchParams.get('customized') === 'true')]);
  }

  #describe(customized: boolean): Record<string, unknown> {
    const started = new Date(this.clock.wallNow()).toISOString();
    const workers = Array.from({ length: this.workers }, (_, i) => ({
      id: String(9000 + i),
      startTime: started,
      // DescribeModelResponse.addWorker: isRunning && WORKER_MODEL_LOADED ? "READY" : "UNLOADING".
      status: this.loaded ? 'READY' : 'UNLOADING',
      memoryUsage: 0,
      pid: 1000 + i,
      gpu: false,
      gpuUsage: 'N/A',
    }));
    const description: Record<string, unknown> = {
      modelName: this.model,
      modelVersion: this.version,
      modelUrl: `${this.model}.mar`,
      runtime: 'python',
      minWorkers: this.workers,
      maxWorkers: this.workers,
      batchSize: 1,
      maxBatchDelay: 100,
      loadedAtStartup: true,
      workers,
      jobQueueStatus: { remainingCapacity: 100, pendingRequests: 0 },
    };
    if (customized) description['customizedMetadata'] = this.md5 === null ? {} : { md5: this.md5 };
    return description;
  }
}

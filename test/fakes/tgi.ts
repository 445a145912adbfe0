// A fake Hugging Face text-generation-inference router: closed until the shards load, /info, SSE /generate_stream.
//
// Behaviour from huggingface/text-generation-inference: the launcher starts the webserver only after all
// shards are ready; GET /health -> 200 empty or 503 {"error":"unhealthy","error_type":"healthcheck"};
// GET /info -> Info {model_id, model_sha, model_dtype, ...}; generation errors answer 424 Failed Dependency
// ({"error","error_type":"generation"}), not 5xx; inside a stream an error is an SSE event after a 200.
// SSE lines are written "data:{...}" without a space, as axum's Event does.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FakeModelServer, parseJson, sendEmpty, sendJson, type FakeServerOptions } from './base.js';

export interface FakeTgiOptions extends FakeServerOptions {
  /** Hub commit of the weights, reported as model_sha. */
  sha?: string;
}

const GENERATION_ERROR = { error: 'Request failed during generation: Server error: CUDA error: an illegal memory access was encountered', error_type: 'generation' };

export class FakeTgi extends FakeModelServer {
  sha: string | null;
  #unhealthy = false;

  constructor(opts: FakeTgiOptions = {}) {
    super(opts, 'bigscience/bloom-560m');
    this.sha = opts.sha ?? null;
    this.refuseWhileLoading = true;
    this.listener((req, res, url) => this.#handle(req, res, url));
  }

  /** The shards stop answering health checks: /health 503. */
  setUnhealthy(on = true): void {
    this.#unhealthy = on;
  }

  #handle(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const path = url.pathname;
    if (req.method === 'GET' && path === '/health') {
      this.probeRequests++;
      return this.#unhealthy ? sendJson(res, 503, { error: 'unhealthy', error_type: 'healthcheck' }) : sendEmpty(res, 200);
    }
    if (req.method === 'GET' && path === '/info') {
      this.probeRequests++;
      return sendJson(res, 200, this.#info());
    }
    if (req.method === 'POST' && (path === '/generate' || path === '/generate_stream')) return this.#generate(req, res, path === '/generate_stream');
    sendJson(res, 404, { error: 'Not Found', error_type: 'not_found' });
  }

  #info(): Record<string, unknown> {
    return {
      model_id: this.model,
      model_sha: this.sha,
      model_dtype: 'torch.float16',
      model_device_type: 'cuda',
      model_pipeline_tag: 'text-generation',
      max_concurrent_requests: 128,
      max_best_of: 2,
      max_stop_sequences: 4,
      max_input_tokens: 1024,
      max_total_tokens: 2048,
      validation_workers: 2,
      max_client_batch_size: 4,
      router: 'text-generation-router',
      version: '0.0.0-fake',
      sha: null,
      docker_label: null,
    };
  }

  #generate(req: IncomingMessage, res: ServerResponse, streaming: boolean): void {
    const { fail } = this.inference();
    this.afterBody(req, (body) => {
      const request = parseJson(body);
      if (request === null || typeof request['inputs'] !== 'string') {
        return sendJson(res, 422, { error: 'Failed to deserialize the JSON body into the target type: missing field `inputs`', error_type: 'validation' });
      }
      const params = request['parameters'];
      const n = params !== null && typeof params === 'object' && typeof (params as Record<string, unknown>)['max_new_tokens'] === 'number' ? ((params as Record<string, unknown>)['max_new_tokens'] as number) : 20;
      const token = (i: number): string => `tok${i} `;
      const text = Array.from({ length: n }, (_, i) => token(i)).join('');
      if (!streaming) {
        if (fail || this.#unhealthy) return sendJson(res, 424, GENERATION_ERROR);
        return sendJson(res, 200, { generated_text: text });
      }
      if (fail || this.#unhealthy) return this.stream(res, 0, () => '', `data:${JSON.stringify(GENERATION_ERROR)}\n\n`);
      const event = (i: number): string =>
        `data:${JSON.stringify({ index: i + 1, token: { id: 100 + i, text: token(i), logprob: -0.5, special: false }, generated_text: i === n - 1 ? text : null, details: i === n - 1 ? { finish_reason: 'length', generated_tokens: n, seed: null } : null })}\n\n`;
      this.stream(res, n, event, null);
    });
  }
}

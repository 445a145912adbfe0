// A fake vLLM OpenAI-compatible server: refuses connections until the engine is up, streams SSE tokens.
//
// Behaviour from vllm-project/vllm: the HTTP server starts only after the engine (and model) is built, so
// while loading a client gets a connection error; GET /health -> 200 empty, 503 empty once the engine is
// dead (setEngineDead); GET /v1/models -> {object:"list", data:[ModelCard]}; a request for another model ->
// 404 NotFoundError; streams end with "data: [DONE]".
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FakeModelServer, parseJson, sendEmpty, sendJson, type FakeServerOptions } from './base.js';

export interface FakeVllmOptions extends FakeServerOptions {
  /** Path or Hub id the weights came from (ModelCard.root); default: the model name. */
  root?: string;
  maxModelLen?: number;
}

export class FakeVllm extends FakeModelServer {
  root: string;
  maxModelLen: number;
  #engineDead = false;
  #seq = 0;

  constructor(opts: FakeVllmOptions = {}) {
    super(opts, 'meta-llama/Llama-3.1-8B-Instruct');
    this.root = opts.root ?? this.model;
    this.maxModelLen = opts.maxModelLen ?? 8192;
    this.refuseWhileLoading = true;
    this.listener((req, res, url) => this.#handle(req, res, url));
  }

  /** The engine core died (EngineDeadError): /health answers 503, generation 500. */
  setEngineDead(dead = true): void {
    this.#engineDead = dead;
  }

  #handle(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const path = url.pathname;
    if (req.method === 'GET' && path === '/health') {
      this.probeRequests++;
      return sendEmpty(res, this.#engineDead ? 503 : 200);
    }
    if (req.method === 'GET' && path === '/v1/models') {
      this.probeRequests++;
      return sendJson(res, 200, { object: 'list', data: [this.#card()] });
    }
    if (req.method === 'GET' && path === '/version') return sendJson(res, 200, { version: '0.0.0-fake' });
    if (req.method === 'POST' && (path === '/v1/completions' || path === '/v1/chat/completions')) {
      return this.#generate(req, res, path === '/v1/chat/completions');
    }
    sendJson(res, 404, { detail: 'Not Found' });
  }

  #card(): Record<string, unknown> {
    return {
      id: this.model,
      object: 'model',
      created: Math.floor(this.clock.wallNow() / 1000),
      owned_by: 'vllm',
      root: this.root,
      parent: null,
      max_model_len: this.maxModelLen,
      permission: [],
    };
  }

  #generate(req: IncomingMessage, res: ServerResponse, chat: boolean): void {
    const { fail } = this.inference();
    this.afterBody(req, (body) => {
      const request = parseJson(body);
      if (request === null) return sendJson(res, 400, error('Invalid JSON body', 'BadRequestError', 400));
      const model = request['model'];
      if (model !== undefined && model !== this.model) {
        return sendJson(res, 404, error(`The model \`${String(model)}\` does not exist.`, 'NotFoundError', 404));
      }
      if (this.#engineDead || fail) return sendJson(res, 500, error('EngineCore encountered an issue.', 'InternalServerError', 500));
      const maxTokens = typeof request['max_tokens'] === 'number' ? request['max_tokens'] : 16;
      const id = `${chat ? 'chatcmpl' : 'cmpl'}-${++this.#seq}`;
      const created = Math.floor(this.clock.wallNow() / 1000);
      const token = (i: number): string => `tok${i} `;
      if (request['stream'] === true) {
        const chunk = (i: number): string => {
          const choice = chat ? { index: 0, delta: i === 0 ? { role: 'assistant', content: token(i) } : { content: token(i) }, logprobs: null, finish_reason: null } : { index: 0, text: token(i), logprobs: null, finish_reason: null, stop_reason: null };
          return `data: ${JSON.stringify({ id, object: chat ? 'chat.completion.chunk' : 'text_completion', created, model: this.model, choices: [choice] })}\n\n`;
        };
        return this.stream(res, maxTokens, chunk, 'data: [DONE]\n\n');
      }
      const text = Array.from({ length: maxTokens }, (_, i) => token(i)).join('');
      const usage = { prompt_tokens: 5, total_tokens: 5 + maxTokens, completion_tokens: maxTokens };
      const choice = chat ? { index: 0, message: { role: 'assistant', content: text }, logprobs: null, finish_reason: 'length' } : { index: 0, text, logprobs: null, finish_reason: 'length', stop_reason: null };
      sendJson(res, 200, { id, object: chat ? 'chat.completion' : 'text_completion', created, model: this.model, choices: [choice], usage });
    });
  }
}

function error(message: string, type: string, code: number): Record<string, unknown> {
  return { object: 'error', message, type, param: null, code };
}

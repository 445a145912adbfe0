/**
 * Several fake vLLM replicas in one process, each on its own port, each with its own queueing model
 * (lib/llm-engine.ts): OpenAI completions and chat completions (streamed as SSE or whole), /health, /v1/models and
 * /metrics in vLLM's own text, plus a control port for the bench.
 *
 * Usage: node llm-fleet.ts '<json>' where json = { slowdowns: [1, 1, 1, 3], engine: EngineConfig minus slowdown }.
 * Prints one line: {"port": <control port>, "backends": [<port>, ...]}.
 *
 * The engine sleeps for each step instead of computing, so this process uses little CPU whatever the load: on the
 * 2-core bench machine the proxies and the load generator keep the cores. What it spends is the HTTP and SSE work a
 * real vLLM API server also does (parse the request, tokenise, write one event per token).
 *
 * Metric text follows vLLM's v1 Prometheus logger (vllm-project/vllm, vllm/v1/metrics/loggers.py, PrometheusStatLogger:
 * gauges vllm:num_requests_running "Number of requests in model execution batches.", vllm:num_requests_waiting "Number
 * of requests waiting to be processed.", vllm:kv_cache_usage_perc "KV-cache usage. 1 means 100 percent usage." and the
 * deprecated vllm:gpu_cache_usage_perc, counters vllm:prefix_cache_queries / _hits, vllm:num_preemptions,
 * vllm:prompt_tokens, vllm:generation_tokens, all with labelnames ["model_name", "engine"]) as prometheus_client renders
 * it: counters get `_total`, values are floats ("3.0").
 *
 * Tokens are whitespace-separated words (a fake tokenizer: one word, one token). Output tokens are generated until
 * max_tokens, as a benchmark run with ignore_eos does, so the client knows each request's length in advance.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { LlmEngine, type EngineConfig } from '../lib/llm-engine.ts';

interface FleetArgs {
  slowdowns: number[];
  engine: Omit<EngineConfig, 'slowdown'>;
  model?: string;
}

const args = JSON.parse(process.argv[2] ?? '{}') as FleetArgs;
const MODEL = args.model ?? 'bench-llm';
const MAX_MODEL_LEN = 16384;

/** Chained hashes of the prompt's full blocks: block i's name depends on every token before it (vLLM's block hash). */
function blockHashes(words: readonly string[], blockTokens: number): string[] {
  const hashes: string[] = [];
  let previous = '';
  for (let start = 0; start + blockTokens <= words.length; start += blockTokens) {
    previous = createHash('sha1').update(previous).update(words.slice(start, start + blockTokens).join(' ')).digest('base64');
    hashes.push(previous);
  }
  return hashes;
}

interface ParsedRequest {
  chat: boolean;
  prompt: string;
  maxTokens: number;
  stream: boolean;
}

function parseRequest(path: string, body: string): ParsedRequest | string {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(body) as Record<string, unknown>;
  } catch {
    return 'body is not JSON';
  }
  const chat = path === '/v1/chat/completions';
  let prompt: string;
  if (chat) {
    if (!Array.isArray(json.messages)) return 'messages must be an array';
    // A chat template: the role tags are tokens too, so two requests sharing a system prompt share its blocks.
    prompt = (json.messages as Array<{ role?: unknown; content?: unknown }>).map((m) => `<|${String(m.role)}|> ${String(m.content)}`).join(' ');
  } else {
    if (typeof json.prompt !== 'string') return 'prompt must be a string';
    prompt = json.prompt;
  }
  const raw = json.max_tokens ?? json.max_completion_tokens ?? 16;
  const maxTokens = typeof raw === 'number' && raw > 0 ? Math.floor(raw) : 16;
  return { chat, prompt, maxTokens, stream: json.stream === true };
}

/** prometheus_client's float rendering: whole numbers as "3.0", others as their shortest repr. */
function goFloat(value: number): string {
  return Number.isInteger(value) ? value.toFixed(1) : String(value);
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

class Replica {
  readonly index: number;
  readonly engine: LlmEngine;
  readonly #server: http.Server;
  readonly #blockTokens: number;
  port = 0;

  constructor(index: number, config: EngineConfig) {
    this.index = index;
    this.engine = new LlmEngine(config);
    this.#blockTokens = config.blockTokens;
    this.#server = http.createServer((req, res) => this.#handle(req, res));
    this.#server.keepAliveTimeout = 65_000;
  }

  listen(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.listen(0, '127.0.0.1', () => {
        this.port = (this.#server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method === 'GET' && path === '/health') {
      res.writeHead(200, { 'content-length': 0 });
      res.end();
      return;
    }
    if (req.method === 'GET' && path === '/v1/models') {
      sendJson(res, 200, { object: 'list', data: [{ id: MODEL, object: 'model', created: 0, owned_by: 'vllm', root: MODEL, parent: null, max_model_len: MAX_MODEL_LEN }] });
      return;
    }
    if (req.method === 'GET' && path === '/metrics') {
      const text = this.#metrics();
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    if (req.method === 'POST' && (path === '/v1/completions' || path === '/v1/chat/completions')) {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => this.#generate(path, Buffer.concat(chunks).toString('utf8'), req, res));
      return;
    }
    sendJson(res, 404, { object: 'error', message: `no route ${req.method} ${path}`, type: 'NotFoundError', code: 404 });
  }

  #generate(path: string, body: string, req: http.IncomingMessage, res: http.ServerResponse): void {
    const parsed = parseRequest(path, body);
    if (typeof parsed === 'string') {
      sendJson(res, 400, { object: 'error', message: parsed, type: 'BadRequestError', code: 400 });
      return;
    }
    const words = parsed.prompt.split(/\s+/).filter((w) => w !== '');
    const id = `${parsed.chat ? 'chatcmpl' : 'cmpl'}-${this.index}-${Math.random().toString(36).slice(2, 10)}`;
    const created = Math.floor(Date.now() / 1000);
    const object = parsed.chat ? 'chat.completion.chunk' : 'text_completion';
    let cancel = (): void => {};
    if (parsed.stream) res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    const tokens: string[] = [];
    cancel = this.engine.submit(blockHashes(words, this.#blockTokens), Math.max(1, words.length), parsed.maxTokens, {
      token: (index, last) => {
        const text = ` t${index}`;
        if (!parsed.stream) {
          tokens.push(text);
          if (last) {
            const usage = { prompt_tokens: words.length, completion_tokens: tokens.length, total_tokens: words.length + tokens.length };
            const choice = parsed.chat
              ? { index: 0, message: { role: 'assistant', content: tokens.join('') }, finish_reason: 'length' }
              : { index: 0, text: tokens.join(''), logprobs: null, finish_reason: 'length' };
            sendJson(res, 200, { id, object: parsed.chat ? 'chat.completion' : 'text_completion', created, model: MODEL, choices: [choice], usage });
          }
          return;
        }
        const finish = last ? '"length"' : 'null';
        let events = '';
        // vLLM's chat stream opens with a role-only delta; it goes out with the first token.
        if (parsed.chat && index === 0) events += `data: {"id":"${id}","object":"${object}","created":${created},"model":"${MODEL}","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}\n\n`;
        events += parsed.chat
          ? `data: {"id":"${id}","object":"${object}","created":${created},"model":"${MODEL}","choices":[{"index":0,"delta":{"content":"${text}"},"logprobs":null,"finish_reason":${finish}}]}\n\n`
          : `data: {"id":"${id}","object":"${object}","created":${created},"model":"${MODEL}","choices":[{"index":0,"text":"${text}","logprobs":null,"finish_reason":${finish},"stop_reason":null}]}\n\n`;
        if (last) events += 'data: [DONE]\n\n';
        if (last) res.end(events);
        else res.write(events);
      },
    });
    // The client (or the proxy) went away before the end: the engine drops the sequence and frees its blocks.
    res.once('close', () => {
      if (!res.writableFinished) cancel();
    });
    void req;
  }

  #metrics(): string {
    const labels = `{model_name="${MODEL}",engine="0"}`;
    const c = this.engine.counters;
    const kv = this.engine.kvUsage();
    const gauge = (name: string, help: string, value: number): string => `# HELP ${name} ${help}\n# TYPE ${name} gauge\n${name}${labels} ${goFloat(value)}\n`;
    const counter = (name: string, help: string, value: number): string => `# HELP ${name}_total ${help}\n# TYPE ${name}_total counter\n${name}_total${labels} ${goFloat(value)}\n`;
    return [
      gauge('vllm:num_requests_running', 'Number of requests in model execution batches.', this.engine.running),
      gauge('vllm:num_requests_waiting', 'Number of requests waiting to be processed.', this.engine.waiting),
      gauge('vllm:gpu_cache_usage_perc', 'GPU KV-cache usage. 1 means 100 percent usage.DEPRECATED: Use vllm:kv_cache_usage_perc instead.', kv),
      counter('vllm:gpu_prefix_cache_queries', 'GPU prefix cache queries, in terms of number of queried tokens. DEPRECATED: Use vllm:prefix_cache_queries instead.', c.prefixQueryTokens),
      counter('vllm:gpu_prefix_cache_hits', 'GPU prefix cache hits, in terms of number of cached tokens. DEPRECATED: Use vllm:prefix_cache_hits instead.', c.prefixHitTokens),
      gauge('vllm:kv_cache_usage_perc', 'KV-cache usage. 1 means 100 percent usage.', kv),
      counter('vllm:prefix_cache_queries', 'Prefix cache queries, in terms of number of queried tokens.', c.prefixQueryTokens),
      counter('vllm:prefix_cache_hits', 'Prefix cache hits, in terms of number of cached tokens.', c.prefixHitTokens),
      counter('vllm:num_preemptions', 'Cumulative number of preemption from the engine.', c.preemptions),
      counter('vllm:prompt_tokens', 'Number of prefill tokens processed.', c.promptTokens),
      counter('vllm:generation_tokens', 'Number of generation tokens processed.', c.generationTokens),
    ].join('');
  }
}

const replicas = args.slowdowns.map((slowdown, i) => new Replica(i, { ...args.engine, slowdown }));
for (const replica of replicas) await replica.listen();

const control = http.createServer((req, res) => {
  req.resume();
  const path = (req.url ?? '/').split('?')[0];
  const stats = (): unknown =>
    replicas.map((r) => ({ port: r.port, waiting: r.engine.waiting, running: r.engine.running, kvUsage: r.engine.kvUsage(), ...r.engine.counters }));
  if (path === '/stats') return sendJson(res, 200, stats());
  // Between bench cells: every cached prefix forgotten so each cell starts cold; refused (409) unless all idle.
  if (path === '/reset') {
    const busy = replicas.filter((r) => !r.engine.resetPrefixCache());
    return sendJson(res, busy.length === 0 ? 200 : 409, stats());
  }
  sendJson(res, 404, { error: 'unknown command' });
});
control.listen(0, '127.0.0.1', () => {
  const port = (control.address() as AddressInfo).port;
  process.stdout.write(`${JSON.stringify({ port, backends: replicas.map((r) => r.port) })}\n`);
});

// The bench holds our stdin open; when it goes away, so do we.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
process.on('SIGTERM', () => process.exit(0));

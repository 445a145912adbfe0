// What a model server says about its own load, after an adapter has read its metrics (vLLM, TGI, Triton,
// SGLang or names configured for any server). The one shape the picker, prefix affinity and overload
// decisions share: they never see metric names.

/** One backend's last scrape, normalised. A field is absent when the server does not export it. */
export interface ServerLoad {
  /** Requests waiting in the server's own queue, not yet scheduled (vLLM num_requests_waiting, ...). */
  readonly queued?: number;
  /** Requests the server is running now (vLLM num_requests_running, TGI batch size, ...). */
  readonly running?: number;
  /** KV-cache (or token pool) use, 0–1. */
  readonly kvUsage?: number;
  /** Clock time (ms, the injected clock) when this scrape completed. */
  readonly at: number;
}

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
  /**
   * Which scrape of this backend it is (1, 2, ...), set when stored; a worker's copy keeps the owner's number, so two
   * readings of one scrape are known as such even though the worker re-dates `at` at every view.
   */
  readonly seq?: number;
}

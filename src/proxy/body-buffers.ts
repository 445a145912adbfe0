// The memory a pool may spend on request bodies read whole before a backend is picked: bytes are taken as they
// arrive (a client trickling its body holds almost nothing) and given back when the request is over.

export interface BufferGauge {
  set(bytes: number): void;
}

export class BodyBuffers {
  readonly max: number;
  #held = 0;
  readonly #gauge: BufferGauge | null;

  constructor(max: number, gauge: BufferGauge | null = null) {
    this.max = max;
    this.#gauge = gauge;
  }

  get held(): number {
    return this.#held;
  }

  /** False when `bytes` more would pass the limit: nothing is taken then. */
  take(bytes: number): boolean {
    if (this.#held + bytes > this.max) return false;
    this.#held += bytes;
    this.#gauge?.set(this.#held);
    return true;
  }

  give(bytes: number): void {
    this.#held -= bytes;
    this.#gauge?.set(this.#held);
  }
}

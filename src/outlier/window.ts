// A sliding count of requests and errors over a time window: a ring of 10 buckets, no allocation per request.

export const WINDOW_BUCKETS = 10;

export class OutcomeWindow {
  readonly #bucketMs: number;
  readonly #requests = new Uint32Array(WINDOW_BUCKETS);
  readonly #errors = new Uint32Array(WINDOW_BUCKETS);
  /** Index of the current bucket on the time line (floor(now / bucketMs)). */
  #epoch: number;

  constructor(windowMs: number, now: number) {
    this.#bucketMs = Math.max(1, windowMs / WINDOW_BUCKETS);
    this.#epoch = Math.floor(now / this.#bucketMs);
  }

  record(error: boolean, now: number): void {
    this.#advance(now);
    const i = this.#epoch % WINDOW_BUCKETS;
    this.#requests[i]! += 1;
    if (error) this.#errors[i]! += 1;
  }

  /** Requests in the last 9 full buckets plus the current partial one (between 0.9 and 1 window). */
  requests(now: number): number {
    this.#advance(now);
    return sum(this.#requests);
  }

  errors(now: number): number {
    this.#advance(now);
    return sum(this.#errors);
  }

  clear(): void {
    this.#requests.fill(0);
    this.#errors.fill(0);
  }

  /** Zero the buckets time has moved past since the last call. */
  #advance(now: number): void {
    const epoch = Math.floor(now / this.#bucketMs);
    const gap = epoch - this.#epoch;
    if (gap <= 0) return;
    if (gap >= WINDOW_BUCKETS) {
      this.clear();
    } else {
      for (let k = 1; k <= gap; k++) {
        const i = (this.#epoch + k) % WINDOW_BUCKETS;
        this.#requests[i] = 0;
        this.#errors[i] = 0;
      }
    }
    this.#epoch = epoch;
  }
}

function sum(a: Uint32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s;
}

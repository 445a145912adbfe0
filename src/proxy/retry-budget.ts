// Envoy-style retry budget of one pool: retries in flight stay under a share of the requests in flight.
import type { RetryConfig } from '../config/types.js';

export class RetryBudget {
  readonly #percent: number;
  readonly #minConcurrency: number;
  #active = 0;
  #activeRetries = 0;

  constructor(retry: Pick<RetryConfig, 'budgetPercent' | 'minRetryConcurrency'>) {
    this.#percent = retry.budgetPercent;
    this.#minConcurrency = retry.minRetryConcurrency;
  }

  requestStarted(): void {
    this.#active++;
  }

  /** `retried`: the request had begun retrying (it counted in the retries in flight). */
  requestEnded(retried: boolean): void {
    this.#active--;
    if (retried) this.#activeRetries--;
  }

  /** May one more request start retrying now? */
  allows(): boolean {
    return this.#activeRetries < Math.max(this.#minConcurrency, (this.#active * this.#percent) / 100);
  }

  /** A request starts retrying (counted once per request, however many retries follow). */
  retryStarted(): void {
    this.#activeRetries++;
  }
}

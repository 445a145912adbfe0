// Whether a failed attempt is tried again: a pure decision over the failure kind (failures.ts says whether it provably
// never reached the model), the method, the attempt history and the budget.
import type { RetryConfig } from '../config/types.js';
import { Failures, type FailureKind } from './failures.js';

/** What a request has tried so far. */
export interface RetryHistory {
  /** Attempts sent, free ones included. */
  readonly attempts: number;
  /** Attempts that do not count against retry.attempts (the keep-alive race retry). */
  readonly freeAttempts: number;
  readonly freshConnectionRetryUsed: boolean;
}

/**
 * - `retry`: on another backend, counted against attempts and the budget;
 * - `retry-fresh-connection`: the keep-alive race (a pooled socket closed by the backend as we reused it): once, on a
 *   new connection, the same backend allowed, outside attempts and budget — the dispatch API cannot tell a reused socket
 *   from a fresh one;
 * - `budget-exhausted`: it could have been retried but the pool's retry budget is spent;
 * - `no`.
 */
export type RetryVerdict = 'retry' | 'retry-fresh-connection' | 'budget-exhausted' | 'no';

/**
 * `replayable`: the body is absent or was kept whole (a streamed body cannot be sent twice).
 * `budgetAllows`: the pool's retry budget has room now.
 */
export function decideRetry(failure: FailureKind, method: string, replayable: boolean, history: RetryHistory, policy: RetryConfig, budgetAllows: boolean): RetryVerdict {
  if (!failure.retryable || !replayable) return 'no';
  // The race is given one new connection; a second close or reset before any byte is a plain reset (the method decides).
  if (failure === Failures.keepAliveRace && history.freshConnectionRetryUsed) failure = Failures.upstreamReset;
  // What never reached the model is retried whatever the method; what may have been processed, by retry.methods.
  if (!failure.notProcessed && !policy.nonIdempotent && !policy.methods.has(method)) return 'no';
  if ((failure === Failures.upstreamReset || failure === Failures.keepAliveRace) && !history.freshConnectionRetryUsed) return 'retry-fresh-connection';
  if (history.attempts - history.freeAttempts >= policy.attempts) return 'no';
  return budgetAllows ? 'retry' : 'budget-exhausted';
}

/** A request's attempts so far: what decideRetry reads, updated as a verdict is carried out. */
export class AttemptHistory<B> implements RetryHistory {
  attempts = 0;
  freeAttempts = 0;
  freshConnectionRetryUsed = false;
  /** The request counts in the budget's retries in flight (from its first counted retry on). */
  retrying = false;
  /** Backends already tried: a counted retry goes elsewhere. */
  tried: B[] | null = null;

  /** Carry out a verdict about a failed attempt on `backend`; true when the request is to be sent again now. */
  take(verdict: RetryVerdict, backend: B, budget: { retryStarted(): void }): boolean {
    switch (verdict) {
      case 'retry-fresh-connection':
        this.freshConnectionRetryUsed = true;
        this.freeAttempts++;
        return true;
      case 'retry':
        (this.tried ??= []).push(backend);
        if (!this.retrying) {
          this.retrying = true;
          budget.retryStarted();
        }
        return true;
      case 'budget-exhausted':
      case 'no':
        return false;
      default: {
        const never: never = verdict;
        throw new Error(`unknown retry verdict ${String(never)}`);
      }
    }
  }
}

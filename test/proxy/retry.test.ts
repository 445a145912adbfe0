// decideRetry: one pure decision over the failure kind, the attempt history and the budget; AttemptHistory carries it out.
import { expect, it } from 'vitest';
import type { RetryConfig } from '../../src/config/types.js';
import { Failures } from '../../src/proxy/failures.js';
import { AttemptHistory, decideRetry } from '../../src/proxy/retry.js';

const policy: RetryConfig = { attempts: 2, methods: new Set(['GET']), nonIdempotent: false, budgetPercent: 20, minRetryConcurrency: 3, bufferBodyBytes: 1024, onStatus: new Set([503]) };
const fresh = { attempts: 1, freeAttempts: 0, freshConnectionRetryUsed: false };

it.each([
  ['connect refused, GET', Failures.connectRefused, 'GET', true, fresh, true, 'retry'],
  ['not a retryable kind', Failures.firstByteTimeout, 'GET', true, fresh, true, 'no'],
  ['connect refused, POST: never reached the model', Failures.connectRefused, 'POST', true, fresh, true, 'retry'],
  ['connect timeout, POST', Failures.connectTimeout, 'POST', true, fresh, true, 'retry'],
  ['503 before any byte, POST', Failures.upstreamUnavailable, 'POST', true, fresh, true, 'retry'],
  ['reset, POST: may have been processed', Failures.upstreamReset, 'POST', true, fresh, true, 'no'],
  ['connect refused, POST, streamed body', Failures.connectRefused, 'POST', false, fresh, true, 'no'],
  ['streamed body', Failures.connectRefused, 'GET', false, fresh, true, 'no'],
  ['attempts used up', Failures.connectRefused, 'GET', true, { ...fresh, attempts: 2 }, true, 'no'],
  ['free attempts do not count', Failures.connectRefused, 'GET', true, { attempts: 2, freeAttempts: 1, freshConnectionRetryUsed: true }, true, 'retry'],
  ['budget spent', Failures.connectRefused, 'GET', true, fresh, false, 'budget-exhausted'],
  ['keep-alive race: once, outside attempts and budget', Failures.upstreamReset, 'GET', true, { ...fresh, attempts: 2 }, false, 'retry-fresh-connection'],
  ['keep-alive race already used', Failures.upstreamReset, 'GET', true, { ...fresh, freshConnectionRetryUsed: true }, true, 'retry'],
  ['keep-alive race on a reused connection, POST: never read', Failures.keepAliveRace, 'POST', true, fresh, true, 'retry-fresh-connection'],
  ['the race again after its new connection, POST: a plain reset, the method decides', Failures.keepAliveRace, 'POST', true, { attempts: 2, freeAttempts: 1, freshConnectionRetryUsed: true }, true, 'no'],
  ['the race again after its new connection, GET: a counted retry', Failures.keepAliveRace, 'GET', true, { attempts: 2, freeAttempts: 1, freshConnectionRetryUsed: true }, true, 'retry'],
  ['reset of a request never read (listener gone), POST: another backend, counted', Failures.resetUnread, 'POST', true, fresh, true, 'retry'],
  ['reset of a request never read, attempts used up', Failures.resetUnread, 'POST', true, { ...fresh, attempts: 2 }, true, 'no'],
  ['reset of a request never read, budget spent', Failures.resetUnread, 'POST', true, fresh, false, 'budget-exhausted'],
  ['retry.onStatus answer', Failures.upstreamUnavailable, 'GET', true, fresh, true, 'retry'],
] as const)('%s', (_name, failure, method, replayable, history, budget, verdict) => {
  expect(decideRetry(failure, method, replayable, history, policy, budget)).toBe(verdict);
});

it('AttemptHistory: a counted retry remembers the backend and starts counting in the budget once', () => {
  const h = new AttemptHistory<string>();
  let started = 0;
  const budget = { retryStarted: () => started++ };
  expect(h.take('retry', 'a', budget)).toBe(true);
  expect(h.take('retry', 'b', budget)).toBe(true);
  expect(h.take('retry-fresh-connection', 'b', budget)).toBe(true);
  expect(h.take('budget-exhausted', 'b', budget)).toBe(false);
  expect(h.take('no', 'b', budget)).toBe(false);
  expect(h.tried).toEqual(['a', 'b']);
  expect(started).toBe(1);
  expect(h.freeAttempts).toBe(1);
  expect(h.freshConnectionRetryUsed).toBe(true);
});

it('nonIdempotent: a pool of pure inference retries what may have been processed too', () => {
  const pure = { ...policy, nonIdempotent: true };
  expect(decideRetry(Failures.upstreamReset, 'POST', true, fresh, pure, true)).toBe('retry-fresh-connection');
  expect(decideRetry(Failures.upstreamReset, 'POST', true, { ...fresh, freshConnectionRetryUsed: true }, pure, true)).toBe('retry');
  expect(decideRetry(Failures.firstByteTimeout, 'POST', true, fresh, pure, true)).toBe('no');
});

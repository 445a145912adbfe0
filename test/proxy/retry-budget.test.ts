// RetryBudget: retries in flight stay under max(minRetryConcurrency, budgetPercent of requests in flight).
import { expect, it } from 'vitest';
import { RetryBudget } from '../../src/proxy/retry-budget.js';

it('allows minRetryConcurrency retries however few requests are in flight', () => {
  const b = new RetryBudget({ budgetPercent: 20, minRetryConcurrency: 2 });
  b.requestStarted();
  expect(b.allows()).toBe(true);
  b.retryStarted();
  expect(b.allows()).toBe(true);
  b.retryStarted();
  expect(b.allows()).toBe(false);
  b.requestEnded(true);
  expect(b.allows()).toBe(true);
});

it('grows with the requests in flight', () => {
  const b = new RetryBudget({ budgetPercent: 20, minRetryConcurrency: 0 });
  for (let i = 0; i < 10; i++) b.requestStarted();
  b.retryStarted();
  expect(b.allows()).toBe(true);
  b.retryStarted();
  expect(b.allows()).toBe(false);
  for (let i = 0; i < 5; i++) b.requestStarted();
  expect(b.allows()).toBe(true);
});

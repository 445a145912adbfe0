// Which probe failures are infergate's own: errno codes of our connect(), never a server's words.
import { expect, test } from 'vitest';
import { localFailureCode, localFailureInText } from '../../src/health/local-failure.js';

test.each([
  ['EMFILE', 'EMFILE'],
  ['EADDRNOTAVAIL', 'EADDRNOTAVAIL'],
  ['ECONNREFUSED', null],
  [null, null],
])('localFailureCode(%s) = %s', (code, expected) => {
  expect(localFailureCode(code)).toBe(expected);
});

test.each([
  ['14 UNAVAILABLE: No connection established. Last error: Error: connect EMFILE 127.0.0.1:8001', 'EMFILE'],
  ['14 UNAVAILABLE: connect EADDRNOTAVAIL 127.0.0.1:8001 - Local (0.0.0.0:0)', 'EADDRNOTAVAIL'],
  // The server's own message (its grpc-message): the backend's failure, whatever it says.
  ['14 UNAVAILABLE: open model: EMFILE', null],
  ['13 INTERNAL: ENOMEM while loading weights', null],
  ['14 UNAVAILABLE: connect ECONNREFUSED 127.0.0.1:8001', null],
  [null, null],
])('localFailureInText(%j) = %s', (text, expected) => {
  expect(localFailureInText(text)).toBe(expected);
});

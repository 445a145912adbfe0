// redact-query.ts: values of secret-bearing query parameters replaced, everything else of the URL untouched.
import { expect, test } from 'vitest';
import { QueryRedactor } from '../../src/observe/redact-query.js';
import { parseConfig } from '../../src/config/load.js';

const defaults = (() => {
  const r = parseConfig('pools: { p: { backends: [http://127.0.0.1:9] } }\n', 'test.yaml', {});
  if (!r.ok) throw new Error('config');
  return new QueryRedactor(r.config.log.redactQuery);
})();

test.each([
  ['/v1/predict', '/v1/predict'],
  ['/v1/predict?', '/v1/predict?'],
  ['/v1/predict?q=1', '/v1/predict?q=1'],
  ['/x?api_key=abc', '/x?api_key=REDACTED'],
  // `;` as a separator (Python before 3.9.2, older Go) and array syntax (PHP, Rails)
  ['/a?x=1;api_key=S', '/a?x=1;api_key=REDACTED'],
  ['/a?api_key[]=S&q=1', '/a?api_key[]=REDACTED&q=1'],
  ['/a?token[0]=S', '/a?token[0]=REDACTED'],
  ['/x?API_KEY=abc&q=1', '/x?API_KEY=REDACTED&q=1'],
  ['/x?q=1&token=abc', '/x?q=1&token=REDACTED'],
  ['/x?token=a&token=b', '/x?token=REDACTED&token=REDACTED'],
  ['/x?apikey=1&access_token=2&signature=3&sig=4&key=5&password=6&secret=7', '/x?apikey=REDACTED&access_token=REDACTED&signature=REDACTED&sig=REDACTED&key=REDACTED&password=REDACTED&secret=REDACTED'],
  ['/b/o?X-Amz-Algorithm=AWS4&X-Amz-Signature=deadbeef', '/b/o?X-Amz-Algorithm=AWS4&X-Amz-Signature=REDACTED'],
  ['/b/o?X-Goog-Signature=cafe&X-Goog-Date=1', '/b/o?X-Goog-Signature=REDACTED&X-Goog-Date=1'],
  // Percent-encoded names are what the server decodes: api%5Fkey is api_key.
  ['/x?api%5Fkey=abc', '/x?api%5Fkey=REDACTED'],
  // Not a listed name, or listed only as a substring: kept.
  ['/x?monkey=1&tokens=2&keyword=3', '/x?monkey=1&tokens=2&keyword=3'],
  // No value, or an empty one: nothing to hide.
  ['/x?token&api_key=', '/x?token&api_key='],
  // A value holding = is replaced whole.
  ['/x?token=a=b=c&q=1', '/x?token=REDACTED&q=1'],
  // A malformed escape in a name does not throw.
  ['/x?%E0%A4%A=1&token=z', '/x?%E0%A4%A=1&token=REDACTED'],
])('default list: %s -> %s', (url, expected) => {
  expect(defaults.redact(url)).toBe(expected);
});

test('a URL without ? comes back as the same string (no work)', () => {
  const url = '/v2/models/resnet/infer';
  expect(defaults.redact(url)).toBe(url);
});

test('configurable list (log.redactQuery), case-insensitive; an empty list redacts nothing', async () => {
  const r = parseConfig('log: { redactQuery: [Session, otp] }\npools: { p: { backends: [http://127.0.0.1:9] } }\n', 'test.yaml', {});
  expect(r.ok).toBe(true);
  if (!r.ok) return;
  expect(r.config.log.redactQuery).toEqual(['session', 'otp']);
  const custom = new QueryRedactor(r.config.log.redactQuery);
  expect(custom.redact('/x?SESSION=1&otp=2&token=3')).toBe('/x?SESSION=REDACTED&otp=REDACTED&token=3');
  expect(new QueryRedactor([]).redact('/x?token=3')).toBe('/x?token=3');
});

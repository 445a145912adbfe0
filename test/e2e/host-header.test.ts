// The client's Host reaches the backend unchanged, unless the pool sets hostHeader.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { QUIET_HEALTH, request } from './support.js';

let backend: TestBackend;
let stack: Stack;

beforeAll(async () => {
  backend = await startBackend();
  stack = await startStack(`
routes:
  - { match: { pathPrefix: /plain/ }, pool: plain }
  - { match: { pathPrefix: /override/ }, pool: override }
pools:
  plain: { health: ${QUIET_HEALTH}, backends: [${backend.url}] }
  override: { health: ${QUIET_HEALTH}, hostHeader: models.internal, backends: [${backend.url}] }
`);
});
afterAll(async () => {
  await stack.close();
  await backend.close();
});

test('Host passes through as the client sent it', async () => {
  expect((await request(`${stack.url}/plain/x`, { headers: { host: 'API.Example.com:8080' } })).status).toBe(200);
  const seen = backend.requests.at(-1)!;
  expect(seen.url).toBe('/plain/x');
  expect(seen.rawHeaders.filter((n) => n.toLowerCase() === 'host')).toHaveLength(1);
  expect(seen.headers.host).toBe('API.Example.com:8080');
});

test('a pool with hostHeader sends that instead; the original stays in X-Forwarded-Host', async () => {
  expect((await request(`${stack.url}/override/x`, { headers: { host: 'api.example.com' } })).status).toBe(200);
  const seen = backend.requests.at(-1)!;
  expect(seen.url).toBe('/override/x');
  expect(seen.rawHeaders.filter((n) => n.toLowerCase() === 'host')).toHaveLength(1);
  expect(seen.headers.host).toBe('models.internal');
  expect(seen.headers['x-forwarded-host']).toBe('api.example.com');
});

// Routes seen from a client: the first matching route picks the pool that serves the request; no match is a 404.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { QUIET_HEALTH, accessLine, request } from './support.js';

let mlp: TestBackend;
let llm: TestBackend;
let exact: TestBackend;
let stack: Stack;

beforeAll(async () => {
  [mlp, llm, exact] = await Promise.all([startBackend(), startBackend(), startBackend()]);
  stack = await startStack(`
routes:
  - { match: { path: /v1/models }, pool: exact }
  - { match: { pathPrefix: /predictions/, methods: [POST] }, pool: mlp }
  - { match: { host: llm.example }, pool: llm }
  - { match: { headers: { x-model: llama } }, pool: llm }
  - { match: { pathPrefix: /v1/ }, pool: mlp }
pools:
  mlp: { health: ${QUIET_HEALTH}, backends: [${mlp.url}] }
  llm: { health: ${QUIET_HEALTH}, backends: [${llm.url}] }
  exact: { health: ${QUIET_HEALTH}, backends: [${exact.url}] }
`);
});
afterAll(async () => {
  await stack.close();
  await Promise.all([mlp.close(), llm.close(), exact.close()]);
});

test.each([
  ['exact path (before the /v1/ prefix)', '/v1/models', {}, 'exact'],
  ['path prefix and method', '/predictions/m', { method: 'POST' }, 'mlp'],
  ['host', '/v1/chat', { headers: { host: 'LLM.example:8080' } }, 'llm'],
  ['header', '/v1/chat', { headers: { 'x-model': 'llama' } }, 'llm'],
  ['later prefix', '/v1/chat', {}, 'mlp'],
] as const)('%s', async (_name, path, opts, pool) => {
  const id = `route-${pool}-${path}-${Object.keys(opts).join()}`.replace(/[^a-z0-9-]/gi, '');
  const reply = await request(`${stack.url}${path}`, { ...opts, headers: { ...('headers' in opts ? opts.headers : {}), 'x-request-id': id } });
  expect(reply.status).toBe(200);
  expect(await accessLine(stack, id)).toMatchObject({ pool });
  const backend = { mlp, llm, exact }[pool];
  expect(backend.requests.at(-1)!.headers['x-request-id']).toBe(id);
});

test('a request no route matches is a 404 (GET /predictions/ is POST-only)', async () => {
  const reply = await request(`${stack.url}/predictions/m`, { headers: { 'x-request-id': 'route-none' } });
  expect(reply.status).toBe(404);
  expect(await accessLine(stack, 'route-none')).toMatchObject({ status: 404, error: 'no-route' });
});

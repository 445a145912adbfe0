// Router: first match wins over path prefix, exact path, host, headers and methods, from routes as the config file writes them.
import type { IncomingMessage } from 'node:http';
import { describe, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { Router } from '../../src/routing/routes.js';

/** A router whose "pools" are the pool names, built from YAML through the real loader and normaliser. */
function routerOf(yaml: string): Router<string> {
  const parsed = parseConfig(yaml, 'routes.yaml', {});
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  const routes = parsed.config.routes.map((r) => ({ config: r, pool: r.pool }));
  return new Router(routes, null);
}

function req(url: string, opts: { method?: string; host?: string; headers?: Record<string, string> } = {}): IncomingMessage {
  return { url, method: opts.method ?? 'GET', headers: { host: opts.host ?? 'lb.example', ...opts.headers } } as unknown as IncomingMessage;
}

const POOLS = `
pools:
  mlp: { backends: [http://127.0.0.1:9101] }
  llm: { backends: [http://127.0.0.1:9102] }
  exact: { backends: [http://127.0.0.1:9103] }
  fallback: { backends: [http://127.0.0.1:9104] }
`;

describe('each condition', () => {
  const router = routerOf(`
routes:
  - { match: { path: /v1/models }, pool: exact }
  - { match: { pathPrefix: /predictions/, methods: [post] }, pool: mlp }
  - { match: { host: API.Example.com:8443 }, pool: llm }
  - { match: { headers: { X-Model: llama } }, pool: llm }
${POOLS}`);

  test.each([
    ['exact path', req('/v1/models'), 'exact'],
    ['exact path ignores the query', req('/v1/models?verbose=1'), 'exact'],
    ['exact path is not a prefix', req('/v1/models/x'), null],
    ['prefix and method', req('/predictions/mlp', { method: 'POST' }), 'mlp'],
    ['prefix but another method', req('/predictions/mlp', { method: 'GET' }), null],
    ['prefix not at the start', req('/x/predictions/mlp', { method: 'POST' }), null],
    ['host, case and port ignored', req('/anything', { host: 'api.EXAMPLE.com:80' }), 'llm'],
    ['host without port', req('/anything', { host: 'api.example.com' }), 'llm'],
    ['other host', req('/anything', { host: 'api.example.org' }), null],
    ['header value exact', req('/anything', { headers: { 'x-model': 'llama' } }), 'llm'],
    ['header value differs', req('/anything', { headers: { 'x-model': 'llama2' } }), null],
  ])('%s', (_name, request, pool) => {
    expect(router.match(request)?.pool ?? null).toBe(pool);
  });
});

test('first match wins, in file order', () => {
  const router = routerOf(`
routes:
  - { match: { pathPrefix: /v1/ }, pool: llm }
  - { match: { path: /v1/models }, pool: exact }
  - { match: {}, pool: fallback }
${POOLS}`);
  expect(router.match(req('/v1/models'))?.pool ?? null).toBe('llm');
  expect(router.match(req('/v2/models'))?.pool ?? null).toBe('fallback');
});

test('all conditions of a route must hold', () => {
  const router = routerOf(`
routes:
  - { match: { pathPrefix: /p/, methods: [PUT], host: a.example, headers: { x-k: v } }, pool: mlp }
${POOLS}`);
  const all = { method: 'PUT', host: 'a.example', headers: { 'x-k': 'v' } };
  expect(router.match(req('/p/1', all))?.pool ?? null).toBe('mlp');
  expect(router.match(req('/q/1', all))?.pool ?? null).toBeNull();
  expect(router.match(req('/p/1', { ...all, method: 'POST' }))?.pool ?? null).toBeNull();
  expect(router.match(req('/p/1', { ...all, host: 'b.example' }))?.pool ?? null).toBeNull();
  expect(router.match(req('/p/1', { ...all, headers: {} }))?.pool ?? null).toBeNull();
});

test('one pool and no routes: everything goes to it', () => {
  const router = routerOf(`
pools:
  only: { backends: [http://127.0.0.1:9101] }
`);
  for (const r of [req('/'), req('/any/path?q'), req('*', { method: 'OPTIONS' }), req('/x', { method: 'DELETE', host: 'whatever' })]) {
    expect(router.match(r)?.pool ?? null).toBe('only');
  }
});

test('no route matches: null (the proxy answers 404)', () => {
  const router = routerOf(`
routes:
  - { match: { pathPrefix: /a/ }, pool: mlp }
${POOLS}`);
  expect(router.match(req('/b/'))?.pool ?? null).toBeNull();
});

test('the query is never part of the path a route matches', () => {
  const router = routerOf(`
routes:
  - { match: { path: /a }, pool: exact }
  - { match: { pathPrefix: /b/c }, pool: mlp }
${POOLS}`);
  expect(router.match(req('/a?x=1'))?.pool ?? null).toBe('exact');
  expect(router.match(req('/a'))?.pool ?? null).toBe('exact');
  expect(router.match(req('/ab'))?.pool ?? null).toBeNull();
  expect(router.match(req('/b/c?d'))?.pool ?? null).toBe('mlp');
  expect(router.match(req('/b/cd'))?.pool ?? null).toBe('mlp');
  expect(router.match(req('/b?/c'))?.pool ?? null).toBeNull();
  expect(router.match(req('/?a'))?.pool ?? null).toBeNull();
});

describe('many routes: each request walks only the routes its first path segment can match', () => {
  // Prefixes with and without a complete first segment, exact paths, "/", and routes on host, method or header only.
  const matches = [
    '{ pathPrefix: /v1/ }', '{ pathPrefix: /v1 }', '{ pathPrefix: /v10/models/ }', '{ path: /v1/models }', '{ path: /health }',
    '{ path: / }', '{ pathPrefix: / , methods: [post] }', '{ host: api.example.com }', '{ headers: { x-model: llama } }',
    '{ pathPrefix: /predictions/mlp, methods: [post] }', '{ pathPrefix: /predictions/ }', '{ path: /v2/models/m/infer }',
    '{ pathPrefix: //x/ }', '{ pathPrefix: /v2/, host: api.example.com }', '{ methods: [delete] }',
  ];
  const pools = ['mlp', 'llm', 'exact', 'fallback'];
  const routes = matches.map((m, i) => `  - { name: r${i}, match: ${m}, pool: ${pools[i % 4]} }`).join('\n');
  const router = routerOf(`routes:\n${routes}\n${POOLS}`);
  const parsed = parseConfig(`routes:\n${routes}\n${POOLS}`, 'routes.yaml', {});
  if (!parsed.ok) throw new Error('bad test config');
  // The reference: first match by walking every route, each on its own (a one-route router has no index).
  const alone = parsed.config.routes.map((r) => new Router([{ config: r, pool: r.name }], null));
  const reference = (request: IncomingMessage): string | null => {
    const i = alone.findIndex((r) => r.match(request) !== null);
    return i === -1 ? null : (parsed.config.routes[i]?.name ?? null);
  };
  const urls = [
    '/', '/?q=/v1/', '/v1', '/v1/', '/v1/models', '/v1/models?x=1', '/v1/models/x', '/v10/models/a', '/v10', '/v100/x', '/health',
    '/health/', '/health?full=1', '/predictions/mlp', '/predictions/mlp/x', '/predictions/llm', '/v2/models/m/infer', '/v2/x', '//x/y',
    '/x', 'http://lb.example/v1/models', '*', '/V1/models',
  ];
  const variants = [
    {}, { method: 'POST' }, { method: 'DELETE' }, { host: 'api.example.com' }, { headers: { 'x-model': 'llama' } },
  ];
  test('every request gets the route the walk over all routes gives', () => {
    let checked = 0;
    for (const url of urls) {
      for (const v of variants) {
        const request = req(url, v);
        const routeName = router.match(request)?.config.name ?? null;
        expect([url, v, routeName]).toEqual([url, v, reference(request)]);
        checked++;
      }
    }
    expect(checked).toBe(urls.length * variants.length);
  });
});

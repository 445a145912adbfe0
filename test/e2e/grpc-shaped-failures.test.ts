// A gRPC request infergate cannot serve gets a gRPC answer (HTTP 200, grpc-status, grpc-message), never a JSON 503/404
// that a gRPC client would report as a protocol error; other requests keep the JSON body.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { h2once } from '../helpers/h2-client.js';
import { request } from './support.js';

let stack: Stack;
const grpc = { 'content-type': 'application/grpc', te: 'trailers' };

beforeAll(async () => {
  // Nothing listens on port 9: the backend never becomes READY, and without a queue the answer is immediate.
  stack = await startStack(`
routes:
  - { match: { pathPrefix: /inference. }, pool: p }
pools:
  p:
    queue: false
    health: { readiness: { path: /health, interval: 1h } }
    backends: [http://127.0.0.1:9]
`, { waitReady: false });
});
afterAll(async () => {
  await stack.close();
});

test('no ready backend: UNAVAILABLE (14)', async () => {
  const r = await h2once(stack.url, { ':method': 'POST', ':path': '/inference.GRPCInferenceService/ModelInfer', ...grpc }, Buffer.alloc(5));
  expect(r.status).toBe(200);
  expect(r.headers['content-type']).toBe('application/grpc');
  expect(r.trailers).toMatchObject({ 'grpc-status': '14', 'grpc-message': 'no backend is ready to take this request (no-ready-backend)' });
  expect(r.body.length).toBe(0);
});

test('no route: UNIMPLEMENTED (12)', async () => {
  const r = await h2once(stack.url, { ':method': 'POST', ':path': '/other.Service/Call', ...grpc }, Buffer.alloc(5));
  expect(r.status).toBe(200);
  expect(r.trailers['grpc-status']).toBe('12');
});

test('the same failure for a JSON client stays a JSON 503', async () => {
  const r = await request(`${stack.url}/inference.GRPCInferenceService/ModelInfer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  expect(r.status).toBe(503);
  expect(r.headers['grpc-status']).toBeUndefined();
});

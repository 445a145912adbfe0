// What each preset probes on an h2 pool: gRPC calls for kserve-v2, triton and grpc; HTTP for the rest and for any
// path the operator writes; the same presets on an http1 pool are unchanged.
import { describe, expect, it } from 'vitest';
import { resolveHealth } from '../../../src/health/resolve.js';
import { ok, yaml } from '../../config/helpers.js';

function health(h: string, protocol: 'http1' | 'h2' = 'h2') {
  const pool = ok(yaml('pools:', '  p:', `    protocol: ${protocol}`, `    health: ${h}`, '    backends: [http://127.0.0.1:9101]')).pools.get('p')!;
  return resolveHealth(pool.health, pool.protocol);
}

describe('presets over gRPC', () => {
  it.each([
    ['{ preset: kserve-v2 }', '/inference.GRPCInferenceService/ServerReady', { rpc: 'ServerReady' }],
    ['{ preset: kserve-v2, model: { name: iris, version: "2" } }', '/inference.GRPCInferenceService/ModelReady', { rpc: 'ModelReady', name: 'iris', version: '' }],
    ['{ preset: triton, model: { name: densenet, version: "3" } }', '/inference.GRPCInferenceService/ModelReady', { rpc: 'ModelReady', name: 'densenet', version: '3' }],
    ['{ preset: triton, model: { name: densenet } }', '/inference.GRPCInferenceService/ModelReady', { rpc: 'ModelReady', name: 'densenet', version: '' }],
    ['{ preset: grpc }', '/grpc.health.v1.Health/Check', { rpc: 'Check', service: '' }],
    ['{ preset: grpc, grpcService: my.Svc }', '/grpc.health.v1.Health/Check', { rpc: 'Check', service: 'my.Svc' }],
  ])('%s: readiness is %s', (h, path, call) => {
    const r = health(h);
    expect(r.readiness).toMatchObject({ path, grpc: call });
  });

  it('kserve-v2 / triton: ServerLive for startup and liveness; metadata by ModelMetadata, ModelConfig only for a checksum', () => {
    const r = health('{ preset: triton, model: { name: densenet } }');
    expect(r.startup).toMatchObject({ path: '/inference.GRPCInferenceService/ServerLive', grpc: { rpc: 'ServerLive' } });
    expect(r.liveness).toMatchObject({ grpc: { rpc: 'ServerLive' } });
    expect(r.metadata).toEqual({ path: '/inference.GRPCInferenceService/ModelMetadata', base: 'origin', grpc: { name: 'densenet', config: false } });
    expect(health('{ preset: kserve-v2, model: { name: m, md5: 55e55e80cf35a77f076aa8dcc2e26e0c } }').metadata?.grpc).toEqual({ name: 'm', config: true });
  });

  it('an operator-written path stays an HTTP probe (sent over HTTP/2)', () => {
    const r = health('{ preset: kserve-v2, readiness: { path: /v2/health/ready } }');
    expect(r.readiness).toMatchObject({ path: '/v2/health/ready', grpc: null });
    expect(r.startup?.grpc).toEqual({ rpc: 'ServerLive' });
  });

  it('presets without a gRPC API probe HTTP on h2 pools; on http1 pools every preset is HTTP', () => {
    expect(health('{ preset: vllm }').readiness).toMatchObject({ path: '/health', grpc: null });
    expect(health('{ preset: kserve-v2, model: { name: iris } }', 'http1').readiness).toMatchObject({ path: '/v2/models/iris/ready', grpc: null });
    expect(health('{ preset: triton, model: { name: d } }', 'http1').metadata).toEqual({ path: '/v2/models/d', base: 'origin' });
  });
});

import { describe, expect, it } from 'vitest';
import { defaultManagementOrigin, PRESET_NAMES, presetFor, requestUrl, type PresetName } from '../../../src/health/presets/index.js';
import { model } from './run-probe.js';

describe('presetFor', () => {
  it('knows every preset name the config accepts', () => {
    expect(PRESET_NAMES.sort()).toEqual(['grpc', 'http', 'kserve-v2', 'tgi', 'torchserve', 'triton', 'vllm']);
    for (const name of PRESET_NAMES) expect(presetFor(name).name).toBe(name);
  });

  it.each<[PresetName, string | null, string]>([
    ['http', null, '/health'],
    ['torchserve', 'mlp', '/ping'],
    ['kserve-v2', 'iris', '/v2/models/iris/ready'],
    ['kserve-v2', null, '/v2/health/ready'],
    ['triton', 'densenet', '/v2/models/densenet/ready'],
    ['triton', null, '/v2/health/ready'],
    ['vllm', 'm', '/health'],
    ['tgi', null, '/health'],
  ])('%s with model %j probes readiness at %s', (name, modelName, path) => {
    const readiness = presetFor(name).probes(model(modelName)).readiness;
    expect(readiness.path).toBe(path);
    expect(readiness.method).toBe('GET');
  });

  it('escapes model names in paths (Hub ids hold "/")', () => {
    expect(presetFor('triton').probes(model('org/model')).readiness.path).toBe('/v2/models/org%2Fmodel/ready');
    expect(presetFor('torchserve').metadata(model('a b'))).toEqual({ path: '/models/a%20b', base: 'management' });
  });

  it('the http preset reads custom metadata by pointers', () => {
    const http = presetFor('http');
    expect(http.metadata(model('x'))).toBeNull();
    expect(http.facts({ name: 'x', version: 2, parameters: { md5: 'ab' } }, model('x'))).toMatchObject({ name: 'x', version: '2', checksum: 'ab' });
  });
});

describe('requestUrl', () => {
  it('sends management requests to port 8081 of the backend host unless told otherwise', () => {
    const probe = presetFor('torchserve').probes(model('mlp')).modelReady!;
    expect(defaultManagementOrigin('http://10.0.0.5:8080')).toBe('http://10.0.0.5:8081');
    expect(requestUrl('http://10.0.0.5:8080', probe)).toBe('http://10.0.0.5:8081/models/mlp');
    expect(requestUrl('http://10.0.0.5:8080', probe, 'http://mgmt:9000')).toBe('http://mgmt:9000/models/mlp');
    expect(requestUrl('http://10.0.0.5:8080', { path: '/ping' })).toBe('http://10.0.0.5:8080/ping');
  });
});

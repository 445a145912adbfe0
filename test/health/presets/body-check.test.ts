import { describe, expect, it } from 'vitest';
import { checkBody, checkResponse } from '../../../src/health/body-check.js';

describe('checkBody', () => {
  it('substring: passes when the body includes the text', () => {
    expect(checkBody('{"status": "ok"}', { kind: 'substring', text: 'ok' })).toEqual({ ok: true, reason: null });
    expect(checkBody('loading', { kind: 'substring', text: 'ok' })).toEqual({ ok: false, reason: 'body does not contain "ok"' });
  });

  it('substring cannot tell "Healthy" from "Partial Healthy": why the torchserve preset reads JSON', () => {
    expect(checkBody('{"status": "Partial Healthy"}', { kind: 'substring', text: 'Healthy' }).ok).toBe(true);
    expect(checkBody('{"status": "Partial Healthy"}', { kind: 'json', pointer: '/status', equals: 'Healthy' }).ok).toBe(false);
  });

  it('json: compares the pointed-at value strictly', () => {
    expect(checkBody('{"status": "Healthy"}', { kind: 'json', pointer: '/status', equals: 'Healthy' })).toEqual({ ok: true, reason: null });
    expect(checkBody('{"ready": true}', { kind: 'json', pointer: '/ready', equals: true }).ok).toBe(true);
    expect(checkBody('{"n": 1}', { kind: 'json', pointer: '/n', equals: '1' })).toEqual({ ok: false, reason: 'body /n is 1, expected "1"' });
    expect(checkBody('[{"workers": []}]', { kind: 'json', pointer: '/0/workers/0/status', equals: 'READY' })).toEqual({ ok: false, reason: 'body has no value at /0/workers/0/status' });
  });

  it('json: a body that is not JSON fails with a reason', () => {
    const result = checkBody('<html>503</html>', { kind: 'json', pointer: '/status', equals: 'Healthy' });
    expect(result.ok).toBe(false);
    expect(result.reason).toMatch(/^body is not JSON \(/);
    expect(checkBody('', { kind: 'json', pointer: '', equals: 'x' }).ok).toBe(false);
  });
});

describe('checkResponse', () => {
  it('accepts any 2xx when expectStatus is null, and only the listed codes otherwise', () => {
    expect(checkResponse(204, '', { expectStatus: null, expectBody: null }).ok).toBe(true);
    expect(checkResponse(503, '', { expectStatus: null, expectBody: null })).toEqual({ ok: false, reason: 'status 503' });
    expect(checkResponse(500, '', { expectStatus: [200, 500], expectBody: null }).ok).toBe(true);
    expect(checkResponse(201, '', { expectStatus: [200], expectBody: null }).ok).toBe(false);
  });

  it('checks the body only after the status passes', () => {
    const probe = { expectStatus: [200], expectBody: { kind: 'json', pointer: '/status', equals: 'Healthy' } as const };
    expect(checkResponse(500, 'not json', probe)).toEqual({ ok: false, reason: 'status 500' });
    expect(checkResponse(200, '{"status":"Partial Healthy"}', probe)).toEqual({ ok: false, reason: 'body /status is "Partial Healthy", expected "Healthy"' });
  });
});

// ${VAR} and ${VAR:-default} substitution in string values, with errors at the scalar's position.

import { describe, expect, it } from 'vitest';
import { interpolateString } from '../../src/config/interpolate.js';
import { errors, ok, onePool, yaml } from './helpers.js';

describe('interpolateString', () => {
  it('substitutes, defaults and escapes', () => {
    expect(interpolateString('a${X}b', { X: '1' })).toEqual({ ok: true, value: 'a1b' });
    expect(interpolateString('${X:-dflt}', {})).toEqual({ ok: true, value: 'dflt' });
    expect(interpolateString('${X:-dflt}', { X: '' })).toEqual({ ok: true, value: 'dflt' });
    expect(interpolateString('${X:-}', {})).toEqual({ ok: true, value: '' });
    expect(interpolateString('${X:-a:-b}', {})).toEqual({ ok: true, value: 'a:-b' });
    expect(interpolateString('$${X} and ${X}', { X: 'v' })).toEqual({ ok: true, value: '${X} and v' });
    expect(interpolateString('${X}', { X: '' })).toEqual({ ok: true, value: '' });
    expect(interpolateString('cost $5', {})).toEqual({ ok: true, value: 'cost $5' });
  });

  it('rejects missing variables, bad names and unclosed references', () => {
    expect(interpolateString('${NOPE}', {})).toEqual({ ok: false, message: 'environment variable NOPE is not set (use ${NOPE:-default} to give a default)' });
    expect(interpolateString('${1X}', {})).toMatchObject({ ok: false, message: 'invalid variable reference "${1X}" (use ${NAME} or ${NAME:-default})' });
    expect(interpolateString('${X', { X: 'v' })).toMatchObject({ ok: false });
  });
});

describe('interpolation in parseConfig', () => {
  it('expands strings anywhere in the tree before validation', () => {
    const c = ok(
      yaml(
        'listen: ${HOST:-127.0.0.1}:${PORT}',
        'admin: { token: "${TOKEN}" }',
        'pools:',
        '  p:',
        '    timeouts: { connect: "${CONNECT:-3s}" }',
        '    health: { readiness: { path: "/health?x=$${literal}" } }',
        '    backends: ["http://127.0.0.1:${B1}"]',
      ),
      { PORT: '8085', TOKEN: '12345', B1: '9101' },
    );
    expect(c.listeners[0]).toMatchObject({ host: '127.0.0.1', port: 8085 });
    expect(c.admin.token).toBe('12345');
    expect(c.pools.get('p')?.timeouts.connectMs).toBe(3000);
    expect(c.pools.get('p')?.health.readiness.path).toBe('/health?x=${literal}');
    expect(c.pools.get('p')?.groups[0]?.backends[0]?.id).toBe('p.default.127.0.0.1:9101');
  });

  it('types an unquoted value by what it expands to, and keeps a quoted one a string', () => {
    const text = yaml('listen: ${PORT}', 'log:', '  accessLog: ${ACCESS}', onePool);
    const c = ok(text, { PORT: '8086', ACCESS: 'false' });
    expect(c.listeners[0]).toMatchObject({ host: '0.0.0.0', port: 8086 });
    expect(c.log.accessLog).toBe(false);
  });

  it('an empty default gives an empty token, which means none', () => {
    expect(ok(yaml('admin:', '  token: ${INFERGATE_ADMIN_TOKEN:-}', onePool)).admin.token).toBeNull();
  });

  it('explains that ${VAR} inside a flow mapping must be quoted', () => {
    expect(errors(yaml('admin: { token: ${TOKEN} }', onePool))).toEqual([
      'test.yaml:1:18: YAML: Unexpected flow-map-start at node end (quote values containing ${...} inside { } or [ ])',
    ]);
  });

  it('reports each missing variable at its scalar, and nothing else about that value', () => {
    const text = yaml('listen: ${PORT}', 'admin:', '  token: "x-${SECRET}"', 'pools:', '  p:', '    backends: [http://127.0.0.1:9101, "${B2}"]');
    expect(errors(text)).toEqual([
      'test.yaml:1:9: listen: environment variable PORT is not set (use ${PORT:-default} to give a default)',
      'test.yaml:3:10: admin.token: environment variable SECRET is not set (use ${SECRET:-default} to give a default)',
      'test.yaml:6:39: pools.p.backends[1]: environment variable B2 is not set (use ${B2:-default} to give a default)',
    ]);
  });

  it('does not touch keys or comments', () => {
    const c = ok(yaml('# ${NOT_SET} in a comment', onePool));
    expect(c.pools.has('p')).toBe(true);
  });

  it('defaults to process.env', async () => {
    const { parseConfig } = await import('../../src/config/load.js');
    process.env.INFERGATE_TEST_PORT = '8087';
    try {
      const r = parseConfig(yaml('listen: ${INFERGATE_TEST_PORT}', onePool), 'x.yaml');
      expect(r.ok && r.config.listeners[0]!.port).toBe(8087);
    } finally {
      delete process.env.INFERGATE_TEST_PORT;
    }
  });
});

// Durations, sizes, listen addresses and backend URLs: good and bad values.

import { describe, expect, it } from 'vitest';
import { isLoopback, listenersClash, parseBackendUrl, parseDuration, parseListen, parseSize } from '../../src/config/units.js';
import { errors, ok, yaml } from './helpers.js';

describe('durations', () => {
  it.each([
    [0, 0],
    ['0', 0],
    ['250ms', 250],
    ['2s', 2000],
    ['1.5s', 1500],
    ['1m', 60000],
    ['1h', 3600000],
    [' 2s ', 2000],
    // nginx / Go style compound durations
    ['1h30m', 5400000],
    ['2m30s', 150000],
    ['1s500ms', 1500],
  ])('%j -> %i ms', (input, want) => {
    expect(parseDuration(input)).toEqual({ ok: true, value: want });
  });

  it.each([['5 parsecs'], ['-1s'], [''], ['s'], [-5], [Number.NaN], ['1e3s']])('rejects %j', (input) => {
    expect(parseDuration(input)).toEqual({ ok: false, message: `invalid duration ${JSON.stringify(input)} (use e.g. 500ms, 2s, 1m, 1h30m)` });
  });

  it.each([[250], ['100'], [60]])('refuses a bare number %j (nginx reads it as seconds, others as ms): did you mean …s?', (input) => {
    const text = String(input);
    expect(parseDuration(input)).toEqual({ ok: false, message: `a bare number is not a duration: did you mean ${text}s? (or ${text}ms; write the unit, e.g. 500ms, 2s, 1m, 1h30m)` });
  });

  it('rejects durations that timers cannot hold', () => {
    expect(parseDuration('30d')).toMatchObject({ ok: false, message: 'duration "30d" is too long (at most 24d)' });
  });
});

describe('sizes', () => {
  it.each([
    [512, 512],
    ['512', 512],
    ['16kb', 16384],
    ['1mb', 1048576],
    ['1.5KB', 1536],
    ['2 gb', 2147483648],
  ])('%j -> %i bytes', (input, want) => {
    expect(parseSize(input)).toEqual({ ok: true, value: want });
  });

  it.each([['5 parsecs'], ['-1kb'], ['kb'], [''], [1.5], [-1]])('rejects %j', (input) => {
    expect(parseSize(input)).toEqual({ ok: false, message: `invalid size ${JSON.stringify(input)} (use e.g. 512, 16kb, 1mb)` });
  });
});

describe('listen addresses', () => {
  it('parses the accepted forms', () => {
    expect(parseListen('127.0.0.1:80')).toEqual({ ok: true, value: { host: '127.0.0.1', port: 80 } });
    expect(parseListen(':80')).toEqual({ ok: true, value: { host: '0.0.0.0', port: 80 } });
    expect(parseListen(80)).toEqual({ ok: true, value: { host: '0.0.0.0', port: 80 } });
    expect(parseListen('[::]:80')).toEqual({ ok: true, value: { host: '::', port: 80 } });
    // Port 0 = any free port (tests, side-by-side instances).
    expect(parseListen('127.0.0.1:0')).toEqual({ ok: true, value: { host: '127.0.0.1', port: 0 } });
    expect(parseListen(0)).toEqual({ ok: true, value: { host: '0.0.0.0', port: 0 } });
  });

  it.each([['127.0.0.1'], ['host:65536'], ['::1:80'], ['a b:80'], ['']])('rejects %j', (input) => {
    expect(parseListen(input).ok).toBe(false);
  });

  it('knows loopback hosts and clashing listeners', () => {
    expect(['127.0.0.1', '127.1.2.3', '::1', 'localhost', 'LOCALHOST'].every(isLoopback)).toBe(true);
    expect(['0.0.0.0', '::', '10.0.0.1', '128.0.0.1'].some(isLoopback)).toBe(false);
    expect(listenersClash({ host: '0.0.0.0', port: 1 }, { host: '127.0.0.1', port: 1 })).toBe(true);
    expect(listenersClash({ host: '127.0.0.1', port: 1 }, { host: '127.0.0.2', port: 1 })).toBe(false);
    expect(listenersClash({ host: '127.0.0.1', port: 1 }, { host: '127.0.0.1', port: 2 })).toBe(false);
  });
});

describe('backend URLs', () => {
  it('accepts http(s) origins, with or without a trailing slash', () => {
    for (const u of ['http://127.0.0.1:9101', 'http://127.0.0.1:9101/', 'https://model.internal', 'http://[::1]:9101']) {
      expect(parseBackendUrl(u).ok).toBe(true);
    }
  });

  it('rejects other schemes, paths, queries, fragments and credentials', () => {
    for (const u of ['ftp://h', 'h:9101', 'http://h/x', 'http://h/?', 'http://h#f', 'http://u:p@h', 'nonsense']) {
      expect(parseBackendUrl(u).ok).toBe(false);
    }
  });
});

describe('units in a config file', () => {
  it('accepts durations with their unit (0 alone), and numbers or strings for sizes', () => {
    const c = ok(yaml(
      'server: { keepAliveTimeout: 1500ms, headersTimeout: 1.5s, requestTimeout: 0, maxHeaderSize: 8192 }',
      'shutdown: { drainTimeout: 1m }',
      'pools:',
      '  p:',
      '    maxBodySize: 10mb',
      '    backends: [http://127.0.0.1:9101]',
    ));
    expect(c.server).toEqual({ h2MaxConcurrentStreams: 128, keepAliveTimeoutMs: 1500, headersTimeoutMs: 1500, requestTimeoutMs: 0, maxHeaderBytes: 8192 });
    expect(c.shutdown.drainTimeoutMs).toBe(60000);
    expect(c.pools.get('p')?.maxBodyBytes).toBe(10485760);
  });

  it('refuses a bare number for a duration at its position, with the likely unit', () => {
    expect(errors(yaml('shutdown: { drainTimeout: 60 }', 'pools:', '  p:', '    backends: [http://127.0.0.1:9101]'))).toEqual([
      'test.yaml:1:27: shutdown.drainTimeout: a bare number is not a duration: did you mean 60s? (or 60ms; write the unit, e.g. 500ms, 2s, 1m, 1h30m)',
    ]);
  });

  it('rejects bad durations and sizes at their positions', () => {
    expect(errors(yaml(
      'server: { keepAliveTimeout: true, headersTimeout: -5, maxHeaderSize: 1 parsec }',
      'pools:',
      '  p:',
      '    backends: [http://127.0.0.1:9101]',
    ))).toEqual([
      'test.yaml:1:29: server.keepAliveTimeout: invalid duration true (use e.g. 500ms, 2s, 1m, 1h30m)',
      'test.yaml:1:51: server.headersTimeout: must be >= 0 (got -5)',
      'test.yaml:1:70: server.maxHeaderSize: invalid size "1 parsec" (use e.g. 512, 16kb, 1mb)',
    ]);
  });
});

// Every error class, with its exact file:line:col, and all errors of a file reported at once.

import { describe, expect, it } from 'vitest';
import { formatErrors, parseConfig } from '../../src/config/load.js';
import { errors, ok, onePool, yaml } from './helpers.js';

describe('config errors', () => {
  it('reports every error of a file at once, sorted by position', () => {
    const text = yaml(
      'listen: 127.0.0.1:99999', //                                          1
      'admin:', //                                                           2
      '  tokn: x', //                                                        3
      'routes:', //                                                          4
      '  - match: { pathPrefix: v1 }', //                                    5
      '    pool: lm', //                                                     6
      'pools:', //                                                           7
      '  llm:', //                                                           8
      '    balance: least-requst', //                                        9
      '    helth:', //                                                       10
      '      readiness: { interval: 5 parsecs, healthyThreshold: 0 }', //    11
      '    backends: [http://127.0.0.1:9101, http://127.0.0.1:9101/]', //    12
    );
    expect(errors(text)).toEqual([
      'test.yaml:1:9: listen: invalid listen address "127.0.0.1:99999" (use host:port, :port or a port 0-65535; 0 = any free port)',
      "test.yaml:3:3: admin: unknown key 'tokn', did you mean 'token'?",
      'test.yaml:5:26: routes[0].match.pathPrefix: must start with "/" (got "v1")',
      "test.yaml:6:11: routes[0].pool: unknown pool 'lm', did you mean 'llm'?",
      "test.yaml:9:14: pools.llm.balance: must be one of round-robin, random, least-request, load-aware (got \"least-requst\"), did you mean 'least-request'?",
      "test.yaml:10:5: pools.llm: unknown key 'helth', did you mean 'health'?",
      'test.yaml:12:39: pools.llm.backends[1]: duplicate backend http://127.0.0.1:9101 (already at pools.llm.backends[0])',
    ]);
  });

  it('points at the bad value deep inside a pool', () => {
    const text = yaml(
      'pools:',
      '  mlp:',
      '    health:',
      '      readiness:',
      '        interval: 5 parsecs',
      '        timeout: -1s',
      '        unhealthyThreshold: 1.5',
      '    retry: { bufferBody: 5 parsecs, attempts: 0, budget: 101 }',
      '    backends: [http://127.0.0.1:9101]',
    );
    expect(errors(text)).toEqual([
      'test.yaml:5:19: pools.mlp.health.readiness.interval: invalid duration "5 parsecs" (use e.g. 500ms, 2s, 1m, 1h30m)',
      'test.yaml:6:18: pools.mlp.health.readiness.timeout: invalid duration "-1s" (use e.g. 500ms, 2s, 1m, 1h30m)',
      'test.yaml:7:29: pools.mlp.health.readiness.unhealthyThreshold: expected an integer, got number 1.5',
      'test.yaml:8:26: pools.mlp.retry.bufferBody: invalid size "5 parsecs" (use e.g. 512, 16kb, 1mb)',
      'test.yaml:8:47: pools.mlp.retry.attempts: must be >= 1 (got 0)',
      'test.yaml:8:58: pools.mlp.retry.budget: must be <= 100 (got 101)',
    ]);
  });

  it('checks backend URLs and backend entries', () => {
    const text = yaml(
      'pools:',
      '  p:',
      '    backends:',
      '      - ftp://127.0.0.1:9101',
      '      - http://127.0.0.1:9102/v1',
      '      - http://127.0.0.1:9103?x=1',
      '      - not a url',
      '      - { url: http://127.0.0.1:9104, weight: 1001 }',
      '      - { url: http://127.0.0.1:9105, wieght: 2 }',
      '      - 7',
    );
    expect(errors(text)).toEqual([
      'test.yaml:4:9: pools.p.backends[0]: backend URL "ftp://127.0.0.1:9101" must start with http:// or https://',
      'test.yaml:5:9: pools.p.backends[1]: backend URL "http://127.0.0.1:9102/v1" must be an origin like http://host:port (no path or query)',
      'test.yaml:6:9: pools.p.backends[2]: backend URL "http://127.0.0.1:9103?x=1" must be an origin like http://host:port (no path or query)',
      'test.yaml:7:9: pools.p.backends[3]: invalid URL "not a url" (use e.g. http://127.0.0.1:9101)',
      'test.yaml:8:47: pools.p.backends[4].weight: must be <= 1000 (got 1001)',
      "test.yaml:9:39: pools.p.backends[5]: unknown key 'wieght', did you mean 'weight'?",
      'test.yaml:10:9: pools.p.backends[6]: a backend is a URL string or { url, weight, maxConcurrent }',
    ]);
  });

  it('requires exactly one of backends or groups, and at least one backend per pool', () => {
    const text = yaml(
      'routes: [{ pool: a }, { pool: b }, { pool: c }, { pool: d }]',
      'pools:',
      '  a:',
      '    backends: [http://127.0.0.1:9101]',
      '    groups: { g: { backends: [http://127.0.0.1:9102] } }',
      '  b:',
      '    balance: random',
      '  c:',
      '    backends: []',
      '  d:',
      '    groups:',
      '      stable: { weight: 90, backends: [] }',
      '      canary: { weight: 10, backends: [] }',
    );
    expect(errors(text)).toEqual([
      'test.yaml:5:5: pools.a: set one of backends, discover or groups, not several',
      'test.yaml:6:3: pools.b: needs backends (or discover, or groups)',
      'test.yaml:9:15: pools.c.backends: pool has no backends',
      'test.yaml:12:7: pools.d.groups: pool has no backends',
    ]);
  });

  it('finds duplicate backends across the groups of a pool', () => {
    const text = yaml(
      'pools:',
      '  p:',
      '    groups:',
      '      stable: { backends: [http://127.0.0.1:9101] }',
      '      canary: { backends: [{ url: "http://127.0.0.1:9101/" }] }',
    );
    expect(errors(text)).toEqual([
      'test.yaml:5:35: pools.p.groups.canary.backends[0].url: duplicate backend http://127.0.0.1:9101 (already at pools.p.groups.stable.backends[0])',
    ]);
  });

  it('needs routes when there is more than one pool', () => {
    const text = yaml('pools:', '  a: { backends: [http://127.0.0.1:9101] }', '  b: { backends: [http://127.0.0.1:9102] }');
    expect(errors(text)).toEqual(['test.yaml:1:1: pools: 2 pools but no routes: add routes or keep one pool']);
  });

  it('says where a key belongs when it is written at the wrong level', () => {
    const text = yaml('token: x', 'pools:', '  p:', '    interval: 1s', '    backends: [http://127.0.0.1:9101]');
    expect(errors(text)).toEqual([
      "test.yaml:1:1: unknown key 'token' (it belongs under admin)",
      "test.yaml:4:5: pools.p: unknown key 'interval' (it belongs under one of outlier, load, discover, health.startup, …)",
    ]);
  });

  it('lists the pools when an unknown route pool is not close to any', () => {
    expect(errors(yaml('routes: [{ pool: zzzzzz }]', onePool))).toEqual([
      "test.yaml:1:18: routes[0].pool: unknown pool 'zzzzzz' (pools: p)",
    ]);
  });

  it('rejects listeners that clash and a public admin listener without a token', () => {
    expect(errors(yaml('listen: 9901', onePool))).toEqual([
      'test.yaml:1:1: admin.listen: 127.0.0.1:9901 clashes with listen 0.0.0.0:9901; use another port',
    ]);
    expect(errors(yaml('listen: 127.0.0.1:8080', 'admin:', '  listen: 0.0.0.0:8080', '  token: ""', onePool))).toEqual([
      'test.yaml:3:11: admin.listen: 0.0.0.0:8080 clashes with listen 127.0.0.1:8080; use another port',
      'test.yaml:3:11: admin.listen: 0.0.0.0:8080 is not loopback: set admin.token (e.g. token: ${INFERGATE_ADMIN_TOKEN})',
    ]);
  });

  it('refuses a short admin token when the admin listener is not loopback (at the token), and accepts it on loopback', () => {
    expect(errors(yaml('admin:', '  listen: 0.0.0.0:9901', '  token: s3cret', onePool))).toEqual([
      'test.yaml:3:10: admin.token: the admin listener 0.0.0.0:9901 is not loopback: admin.token must be at least 16 characters (it has 6); generate one with `openssl rand -hex 16`',
    ]);
    expect(ok(yaml('admin:', '  listen: 0.0.0.0:9901', '  token: 0123456789abcdef', onePool)).admin.token).toBe('0123456789abcdef');
    expect(ok(yaml('admin:', '  listen: 127.0.0.1:9901', '  token: s3cret', onePool)).admin.token).toBe('s3cret');
  });

  it('reports missing and wrongly typed values', () => {
    expect(errors('listen: 127.0.0.1:8080\n')).toEqual(['test.yaml:1:1: pools: is required']);
    expect(errors(yaml('routes:', '  - match: {}', onePool))).toEqual(['test.yaml:2:5: routes[0].pool: is required']);
    expect(errors(yaml('log: { level: loud, accessLog: yes }', onePool))).toEqual([
      "test.yaml:1:15: log.level: must be one of trace, debug, info, warn, error, fatal, silent (got \"loud\")",
      'test.yaml:1:32: log.accessLog: expected true, false or { to, format } (got "yes")',
    ]);
    expect(errors(yaml('log: { accessLog: { to: "", format: xml }, redactQuery: token }', onePool))).toEqual([
      'test.yaml:1:25: log.accessLog.to: must not be empty',
      'test.yaml:1:37: log.accessLog.format: must be one of json, combined (got "xml")',
      'test.yaml:1:57: log.redactQuery: expected a list, got string "token"',
    ]);
    expect(errors('- just\n- a list\n')).toEqual(['test.yaml:1:1: expected a mapping, got a list']);
    expect(errors(yaml('listn: 8080', onePool))).toEqual(["test.yaml:1:1: unknown key 'listn', did you mean 'listen'?"]);
    expect(errors(yaml('pools: {}'))).toEqual(['test.yaml:1:8: pools: define at least one pool']);
    // An empty value is reported at its key.
    expect(errors(yaml('pools:', '  p:', '    backends:'))).toEqual(['test.yaml:3:5: pools.p.backends: expected a list, got null']);
  });

  it('rejects pool and group names that would make ambiguous backend ids', () => {
    expect(errors(yaml('pools:', '  a.b:', '    backends: [http://127.0.0.1:9101]'))).toEqual([
      'test.yaml:2:3: pools.a.b: invalid name "a.b" (use letters, digits, - and _)',
    ]);
    expect(errors(yaml('pools:', '  a:', '    groups:', '      "x y": { backends: [http://127.0.0.1:9101] }'))).toEqual([
      'test.yaml:4:7: pools.a.groups.x y: invalid name "x y" (use letters, digits, - and _)',
    ]);
  });

  it('reports YAML syntax errors with their position', () => {
    expect(errors('pools:\n  p: [http://127.0.0.1:9101\nlisten: 1\n')).toEqual([
      'test.yaml:3:1: YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ]);
    expect(errors('---\na: 1\n---\nb: 2\n')).toEqual(['test.yaml:3:1: YAML: the file must hold a single YAML document (remove the extra ---)']);
    expect(errors('a: 1\nb: 2\na: 3\nb: 4\n')).toEqual([
      'test.yaml:3:1: YAML: Map keys must be unique',
      'test.yaml:4:1: YAML: Map keys must be unique',
    ]);
  });
});

describe('formatErrors', () => {
  it('prints one file:LINE:COL: message per line, sorted by position', () => {
    const out = formatErrors([
      { file: 'c.yaml', line: 3, col: 1, message: 'third' },
      { file: 'c.yaml', line: 1, col: 5, message: 'second' },
      { file: 'c.yaml', line: 1, col: 2, message: 'first' },
    ]);
    expect(out).toBe('c.yaml:1:2: first\nc.yaml:1:5: second\nc.yaml:3:1: third');
  });
});

describe('model admission needs a source', () => {
  it('rejects health.model on the http preset without metadataPath, and accepts it with one', () => {
    const bad = parseConfig('pools:\n  p:\n    health:\n      model: { version: "2" }\n    backends: [http://127.0.0.1:9101]\n', 'm.yaml', {});
    expect(bad.ok).toBe(false);
    expect(formatErrors(bad.ok ? [] : bad.errors)).toBe('m.yaml:4:7: pools.p.health.model: preset http has no metadata endpoint: set model.metadataPath (and versionPointer / checksumPointer) so the model can be checked');
    const good = parseConfig('pools:\n  p:\n    health:\n      model: { version: "2", metadataPath: /info }\n    backends: [http://127.0.0.1:9101]\n', 'm.yaml', {});
    expect(good.ok).toBe(true);
  });
});

describe('outlier and rollout ranges', () => {
  it('rejects values the outlier detector and the rollout controller cannot work with, at their position', () => {
    const text = yaml(
      'pools:', //                                                                                 1
      '  p:', //                                                                                   2
      '    outlier:', //                                                                           3
      '      consecutive5xx: -1', //                                                               4
      '      maxEjectionPercent: 101', //                                                          5
      '      baseEjectionTime: 0', //                                                              6
      '      interval: 0s', //                                                                     7
      '      failureRate: { threshold: 1.5, minRequests: 0, window: 5ms }', //                     8
      '    groups:', //                                                                            9
      '      stable: { backends: [http://127.0.0.1:9101] }', //                                    10
      '      canary:', //                                                                          11
      '        backends: [http://127.0.0.1:9102]', //                                              12
      '        rollout: { steps: [50, 25], interval: 0, latencyQuantile: 0, failureThreshold: 0 }', // 13
    );
    expect(errors(text)).toEqual([
      'test.yaml:4:23: pools.p.outlier.consecutive5xx: must be >= 0 (got -1)',
      'test.yaml:5:27: pools.p.outlier.maxEjectionPercent: must be <= 100 (got 101)',
      'test.yaml:6:25: pools.p.outlier.baseEjectionTime: must be at least 1ms (got 0)',
      'test.yaml:7:17: pools.p.outlier.interval: must be at least 1ms (got "0s")',
      'test.yaml:8:33: pools.p.outlier.failureRate.threshold: must be <= 1 (got 1.5)',
      'test.yaml:8:51: pools.p.outlier.failureRate.minRequests: must be >= 1 (got 0)',
      'test.yaml:8:62: pools.p.outlier.failureRate.window: must be at least 10ms (got "5ms")',
      'test.yaml:13:32: pools.p.groups.canary.rollout.steps[1]: steps must increase (25 after 50)',
      'test.yaml:13:47: pools.p.groups.canary.rollout.interval: must be at least 1ms (got 0)',
      'test.yaml:13:67: pools.p.groups.canary.rollout.latencyQuantile: must be > 0 (got 0)',
      'test.yaml:13:88: pools.p.groups.canary.rollout.failureThreshold: must be >= 1 (got 0)',
    ]);
  });

  it('names the bad duration inside an outlier or queue block, not the block', () => {
    expect(errors(yaml('pools:', '  p:', '    outlier: { interval: 5 parsecs }', '    queue: { timeout: 5 parsecs }', '    backends: [http://127.0.0.1:9101]'))).toEqual([
      'test.yaml:3:26: pools.p.outlier.interval: invalid duration "5 parsecs" (use e.g. 500ms, 2s, 1m, 1h30m)',
      'test.yaml:4:23: pools.p.queue.timeout: invalid duration "5 parsecs" (use e.g. 500ms, 2s, 1m, 1h30m)',
    ]);
  });
});

describe('nginx words', () => {
  it('says what an nginx directive is called in infergate', () => {
    expect(errors(yaml('pools:', '  p:', '    balance: least_conn', '    max_fails: 3', '    proxy_read_timeout: 60s', '    backends: [http://127.0.0.1:9101]'))).toEqual([
      "test.yaml:3:14: pools.p.balance: must be one of round-robin, random, least-request, load-aware (nginx's least_conn is least-request)",
      "test.yaml:4:5: pools.p: unknown key 'max_fails' (nginx's word; in infergate: outlier.consecutive5xx / outlier.consecutiveGatewayErrors (passive), and health.readiness (active))",
      "test.yaml:5:5: pools.p: unknown key 'proxy_read_timeout' (nginx's word; in infergate: timeouts.firstByte (to the response head) and timeouts.idle (between body chunks))",
    ]);
  });

  it('timeouts.read is firstByte + idle', () => {
    expect(errors(yaml('pools:', '  p:', '    timeouts: { read: 60s }', '    backends: [http://127.0.0.1:9101]'))).toEqual([
      "test.yaml:3:17: pools.p.timeouts: unknown key 'read' (nginx's word; in infergate: timeouts.firstByte (to the response head) and timeouts.idle (between body chunks))",
    ]);
  });
});

// --version, --help, and exit 2 for commands and flags that do not exist.
import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { cli } from './run.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

test.concurrent('--version prints the package version and exits 0', async () => {
  expect(await cli(['--version'])).toEqual({ code: 0, stdout: `infergate ${pkg.version}\n`, stderr: '' });
  expect((await cli(['-v'])).stdout).toBe(`infergate ${pkg.version}\n`);
});

test.concurrent('--help prints the usage with every command and exits 0', async () => {
  const r = await cli(['--help']);
  expect(r.code).toBe(0);
  expect(r.stderr).toBe('');
  expect(r.stdout).toMatch(/^infergate \S+ - /);
  for (const word of ['Usage:', '--config FILE', 'check', 'demo', '--version', 'SIGHUP', 'SIGTERM']) expect(r.stdout).toContain(word);
});

test.concurrent('an unknown command exits 2 with the usage on stderr', async () => {
  const r = await cli(['frobnicate']);
  expect(r.code).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr).toContain('unknown command "frobnicate"');
  expect(r.stderr).toContain('Usage:');
});

test.concurrent('an unknown flag exits 2', async () => {
  const r = await cli(['--frobnicate']);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('--frobnicate');
});

test.concurrent('an extra argument exits 2', async () => {
  const r = await cli(['check', 'extra']);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('unexpected argument "extra"');
});

test.concurrent('run with an invalid config exits 1 before starting anything', async () => {
  const r = await cli(['--config', '/nonexistent/infergate.yaml']);
  expect(r.code).toBe(1);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(/^\/nonexistent\/infergate\.yaml:1:1: /);
});

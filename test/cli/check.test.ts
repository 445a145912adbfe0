// `infergate check --config FILE`: exit 0 and "configuration OK" when valid (-q: silent), exit 1 with file:line:col lines when not (like nginx -t).
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { tempConfig } from '../lifecycle/process.js';
import { cli } from './run.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

test.concurrent('a valid file: exit 0, "configuration OK" on stdout, nothing on stderr, nothing started', async () => {
  const file = tempConfig(`
listen: 127.0.0.1:18080
admin: { listen: 127.0.0.1:19901 }
pools:
  p:
    health: { readiness: { path: /health, interval: 1s } }
    backends: [http://127.0.0.1:9101]
`);
  expect(await cli(['check', '--config', file])).toEqual({ code: 0, stdout: 'configuration OK\n', stderr: '' });
  expect(await cli(['check', '-q', '--config', file])).toEqual({ code: 0, stdout: '', stderr: '' });
});

test.concurrent('-q keeps the errors: exit 1 with them on stderr', async () => {
  const file = tempConfig('pools:\n  p:\n    balance: sideways\n    backends: [http://127.0.0.1:9101]\n');
  const r = await cli(['check', '-q', '--config', file]);
  expect(r.code).toBe(1);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(/sideways|balance/);
});

test.concurrent('-q outside check is a usage error (exit 2)', async () => {
  expect((await cli(['-q', '--config', 'whatever.yaml'])).code).toBe(2);
});

test.concurrent('the shipped example config/infergate.yaml passes', async () => {
  const env = { ...process.env };
  delete env.INFERGATE_ADMIN_TOKEN;
  expect(await cli(['check', '--config', 'config/infergate.yaml'], { cwd: ROOT, env })).toEqual({ code: 0, stdout: 'configuration OK\n', stderr: '' });
});

test.concurrent('check uses config/infergate.yaml when --config is left out', async () => {
  expect((await cli(['check'], { cwd: ROOT })).code).toBe(0);
});

test.concurrent('several mistakes: exit 1, one file:line:col line for each on stderr, stdout empty', async () => {
  const file = tempConfig(`listen: 127.0.0.1:8080
pools:
  p:
    balance: sideways
    health: { readiness: { interval: soon } }
    backends: [http://127.0.0.1:9101]
`);
  const r = await cli(['check', '--config', file]);
  expect(r.code).toBe(1);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trim().split('\n');
  expect(lines.length).toBeGreaterThanOrEqual(2);
  for (const l of lines) expect(l).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: .+`));
  expect(lines.some((l) => l.startsWith(`${file}:4:`) && /sideways|balance/.test(l))).toBe(true);
  expect(lines.some((l) => l.startsWith(`${file}:5:`) && /soon|duration|interval/.test(l))).toBe(true);
});

test.concurrent('YAML syntax error: exit 1 with its position', async () => {
  const file = tempConfig('pools:\n  p:\n    backends: [http://127.0.0.1:9101\n');
  const r = await cli(['check', '--config', file]);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: YAML: `));
});

test.concurrent('a missing file: exit 1 with the file named', async () => {
  const r = await cli(['check', '--config', '/nonexistent/infergate.yaml']);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/^\/nonexistent\/infergate\.yaml:1:1: .*ENOENT/);
});

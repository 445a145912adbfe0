// discover: { dns, port, interval }: addresses found by DNS become backends that start LOADING and earn READY;
// addresses that disappear leave routing at once and drain; a failed look-up keeps the last known backends.
import { afterEach, expect, test } from 'vitest';
import { ModelServer } from '../../src/demo/model-server.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { startStack, type Stack } from '../helpers/stack.js';

let stack: Stack | null = null;
const servers: ModelServer[] = [];
afterEach(async () => {
  await stack?.close();
  stack = null;
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** Several loopback addresses share one port: 127.0.0.1, 127.0.0.2 ... all reach a server bound to 127.0.0.x. */
async function serverOn(host: string, port = 0): Promise<ModelServer> {
  const s = await new ModelServer({ host, port }).start();
  servers.push(s);
  return s;
}

const stateOf = (id: string): string | undefined => stack!.app.backend(id)?.state();

test('new addresses join LOADING then READY, gone ones stop taking traffic, failures keep the last set', async () => {
  const a = await serverOn('127.0.0.1');
  const b = await serverOn('127.0.0.2', a.port);
  let answer: string[] | Error = ['127.0.0.1'];
  const asked: string[] = [];
  const clock = new ManualClock();
  stack = await startStack(
    `
pools:
  p:
    health: { readiness: { path: /health, interval: 1h } }
    discover: { dns: models.internal, port: ${a.port}, interval: 5s }
`,
    {
      waitReady: false,
      deps: {
        clock,
        resolve: async (name: string) => {
          asked.push(name);
          if (answer instanceof Error) throw answer;
          return answer;
        },
      },
    },
  );
  const idA = `p.default.127.0.0.1:${a.port}`;
  const idB = `p.default.127.0.0.2:${a.port}`;
  await stack.waitForLog((l) => l.msg === 'backend state changed' && l.backend === idA && l.to === 'READY');
  expect((await fetch(`${stack.url}/x`)).status).toBe(200);

  answer = ['127.0.0.2', '127.0.0.1'];
  clock.advance(5000);
  await stack.waitForLog((l) => l.msg === 'DNS discovery changed the backends' && (l.added as string[]).includes(idB));
  await stack.waitForLog((l) => l.msg === 'backend state changed' && l.backend === idB && l.to === 'READY');
  expect([stateOf(idA), stateOf(idB)]).toEqual(['READY', 'READY']);

  answer = new Error('SERVFAIL');
  clock.advance(5000);
  await stack.waitForLog((l) => l.msg === 'DNS discovery failed: keeping the last known backends');
  expect([stateOf(idA), stateOf(idB)]).toEqual(['READY', 'READY']);
  // The log line comes from inside the look-up; the next one is scheduled as it returns, a few promise hops later.
  await new Promise((r) => setImmediate(r));

  answer = ['127.0.0.2'];
  clock.advance(5000);
  await stack.waitForLog((l) => l.msg === 'DNS discovery changed the backends' && (l.removed as string[]).includes(idA));
  expect(stateOf(idA)).toBeUndefined();
  const before = [a.requests, b.requests];
  for (let i = 0; i < 5; i++) expect((await fetch(`${stack.url}/x`)).status).toBe(200);
  expect([a.requests, b.requests]).toEqual([before[0], before[1]! + 5]);
  // One look-up at start and one per 5 s on the clock, always of the configured name.
  expect(asked).toEqual(Array(4).fill('models.internal'));
  const metrics = await (await fetch(`${stack.adminUrl}/metrics`)).text();
  expect(metrics).toMatch(/infergate_discovery_errors_total\{pool="p",group="default"\} 1/);
});

test('the system resolver: localhost resolves through getaddrinfo (/etc/hosts)', async () => {
  const a = await serverOn('127.0.0.1');
  stack = await startStack(`
pools:
  p:
    health: { readiness: { path: /health, interval: 100ms } }
    discover: { dns: localhost, port: ${a.port} }
`);
  expect((await fetch(`${stack.url}/x`)).status).toBe(200);
  expect(stack.app.backend(`p.default.127.0.0.1:${a.port}`)?.state()).toBe('READY');
});

test('config: discover is an alternative to backends, per pool or per group, and not both', async () => {
  const { parseConfig, formatErrors } = await import('../../src/config/load.js');
  const bad = parseConfig('pools:\n  p:\n    backends: [http://127.0.0.1:1]\n    discover: { dns: x, port: 80 }\n', 'd.yaml', {});
  expect(bad.ok).toBe(false);
  expect(formatErrors(bad.ok ? [] : bad.errors)).toMatch(/d\.yaml:4:\d+: .*set one of backends, discover or groups/);
  const groups = parseConfig('pools:\n  p:\n    groups:\n      a: { discover: { dns: x, port: 80 } }\n      b: {}\n', 'g.yaml', {});
  expect(groups.ok).toBe(false);
  expect(formatErrors(groups.ok ? [] : groups.errors)).toMatch(/needs backends \(or discover\)/);
  const ok = parseConfig('pools:\n  p:\n    groups:\n      a: { discover: { dns: x, port: 80, interval: 2s } }\n', 'ok.yaml', {});
  expect(ok.ok).toBe(true);
  expect(ok.ok ? ok.config.pools.get('p')!.groups[0]!.discover : 'invalid').toEqual({ dns: 'x', port: 80, intervalMs: 2000, scheme: 'http', weight: 1 });
});

// Connection limits: `auto` from the open-files limit, counted per listener and per client address.
import net from 'node:net';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ConnectionLimits, openFileLimit, resolveLimits } from '../../src/listen/limits.js';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { startStack } from '../helpers/stack.js';
import { onePool } from '../e2e/support.js';

test.each([
  // [max, perClient, fd limit, expected]
  ['auto', 'auto', 1024, { max: 480, perClient: 240 }],
  ['auto', 'auto', 256, { max: 96, perClient: 48 }],
  ['auto', 'auto', 100, { max: 64, perClient: 32 }],
  ['auto', 'auto', null, { max: 16384, perClient: 8192 }],
  [1000, 'auto', 1024, { max: 1000, perClient: 500 }],
  [0, 'auto', 1024, { max: 0, perClient: 0 }],
  ['auto', 10, 1_048_576, { max: 524_256, perClient: 10 }],
] as const)('resolveLimits(%s, %s, fd %s)', (max, perClient, fd, expected) => {
  expect(resolveLimits(max, perClient, fd)).toEqual(expected);
});

test('openFileLimit reads the soft limit from /proc/self/limits', () => {
  const text = 'Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 524288               files\n';
  expect(openFileLimit(() => text)).toBe(1024);
  expect(openFileLimit(() => 'Max open files            unlimited            unlimited            files\n')).toBeNull();
  expect(openFileLimit(() => {
    throw new Error('no /proc');
  })).toBeNull();
});

test('ConnectionLimits counts per address and frees on release', () => {
  const l = new ConnectionLimits(3, 2);
  expect(l.admit('a')).toBeNull();
  expect(l.admit('a')).toBeNull();
  expect(l.admit('a')).toBe('client-full');
  expect(l.admit('b')).toBeNull();
  expect(l.admit('c')).toBe('listener-full');
  l.release('a');
  expect(l.admit('c')).toBeNull();
  expect(l.open).toBe(3);
});

let backend: TestBackend;
beforeAll(async () => {
  backend = await startBackend();
});
afterAll(async () => {
  await backend.close();
});

function open(port: number, from: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress: from }, () => resolve(s));
    s.on('error', reject);
  });
}

/** True when the server closed the connection within `ms`. */
function closedWithin(s: net.Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (s.destroyed) return resolve(true);
    const t = setTimeout(() => resolve(false), ms);
    s.once('close', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

test('connections beyond maxConnectionsPerClient and maxConnections are closed at accept and counted', async () => {
  const stack = await startStack(`listen: { address: 127.0.0.1:0, maxConnections: 5, maxConnectionsPerClient: 3 }\n${onePool([backend.url])}`);
  const sockets: net.Socket[] = [];
  try {
    for (let i = 0; i < 3; i++) sockets.push(await open(stack.port, '127.0.0.2'));
    const fourth = await open(stack.port, '127.0.0.2');
    expect(await closedWithin(fourth, 2000)).toBe(true);
    for (let i = 0; i < 2; i++) sockets.push(await open(stack.port, '127.0.0.3'));
    const sixth = await open(stack.port, '127.0.0.4');
    expect(await closedWithin(sixth, 2000)).toBe(true);
    for (const s of sockets) expect(await closedWithin(s, 50)).toBe(false);
    const metrics = await (await fetch(`${stack.adminUrl}/metrics`)).text();
    expect(metrics).toContain('infergate_client_connections_refused_total{listener="127.0.0.1:0",reason="client-full"} 1');
    expect(metrics).toContain('infergate_client_connections_refused_total{listener="127.0.0.1:0",reason="listener-full"} 1');
    expect(metrics).toContain('infergate_client_connections 5');
    // One freed: the next client gets in and is served.
    sockets.pop()!.destroy();
    await expect.poll(async () => (await (await fetch(`${stack.adminUrl}/metrics`)).text()).includes('infergate_client_connections 4'), { timeout: 3000 }).toBe(true);
    const r = await fetch(`${stack.url}/ok`);
    expect(r.status).toBe(200);
  } finally {
    for (const s of sockets) s.destroy();
    await stack.close();
  }
});

// listenerGone: one TCP connect tells a server that stopped listening (refused) from one still there.
import net from 'node:net';
import { expect, test } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { listenerGone } from '../../src/proxy/listener-gone.js';

async function listen(): Promise<net.Server> {
  const server = net.createServer((s) => s.destroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return server;
}

test('a listening address is not gone; the same port once closed is', async () => {
  const server = await listen();
  const url = new URL(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}`);
  expect(await listenerGone(null, url, systemClock)).toBe(false);
  await new Promise<void>((r) => server.close(() => r()));
  expect(await listenerGone(null, url, systemClock)).toBe(true);
});

test('an IPv6 literal is connected to without its brackets', async (ctx) => {
  const server = net.createServer((s) => s.destroy());
  const ok = await new Promise<boolean>((r) => {
    server.once('error', () => r(false));
    server.listen(0, '::1', () => r(true));
  });
  if (!ok) ctx.skip(); // no IPv6 loopback on this machine: reported as skipped, not passed
  const url = new URL(`http://[::1]:${(server.address() as net.AddressInfo).port}`);
  expect(await listenerGone(null, url, systemClock)).toBe(false);
  await new Promise<void>((r) => server.close(() => r()));
  expect(await listenerGone(null, url, systemClock)).toBe(true);
});

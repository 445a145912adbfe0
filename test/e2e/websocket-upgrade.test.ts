// WebSocket upgrades are proxied end to end and counted; an upgrade the client abandons before the 101 leaks nothing.
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { backends, deferred, metric, onePool, within, type Deferred } from './support.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC11B65';
const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

let backend: TestBackend;
let stack: Stack;
/** Per test: the backend's socket of the upgrade request, once it arrived. */
let upgraded: Deferred<{ req: IncomingMessage; socket: Duplex }>;
/** Upgraded sockets leave the backend's HTTP server: closed by hand so a failing test cannot hang the teardown. */
const upstreamSockets = new Set<Duplex>();

beforeAll(async () => {
  backend = await startBackend();
  backend.server.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
    upstreamSockets.add(socket);
    socket.on('error', () => socket.destroy());
    upgraded.resolve({ req, socket });
    if (req.url === '/forbidden') {
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno');
      return;
    }
    if (req.url === '/hang') {
      // Never answers the handshake; reads so that the proxy closing its side is seen.
      socket.on('end', () => socket.destroy());
      socket.resume();
      return;
    }
    const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}${GUID}`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    socket.pipe(socket); // echo every byte
  });
  stack = await startStack(onePool([backend.url]));
});
afterAll(async () => {
  for (const s of upstreamSockets) s.destroy();
  await stack.close();
  await backend.close();
});

function handshake(path: string): string {
  return `GET ${path} HTTP/1.1\r\nHost: ws.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\nX-Request-Id: ws-${path.slice(1)}\r\n\r\n`;
}

/** Reads from `socket` until `done(text)` holds. */
function readUntil(socket: net.Socket, done: (text: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (c: Buffer): void => {
      text += c.toString('latin1');
      if (done(text)) {
        socket.off('data', onData);
        resolve(text);
      }
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error(`closed after ${JSON.stringify(text)}`)));
  });
}

/** infergate_websocket_upgrades_total of one result: each test compares with its own value before. */
const upgrades = (result: string): Promise<number> => metric(stack, 'infergate_websocket_upgrades_total', { pool: 'p', result });

function socketClosed(socket: Duplex): Promise<void> {
  return new Promise((r) => (socket.destroyed ? r() : socket.once('close', () => r())));
}

test('the 101 handshake comes through, bytes flow both ways, and the tunnel is counted while open', async () => {
  const before = await upgrades('upgraded');
  upgraded = deferred();
  const client = net.connect(stack.port, '127.0.0.1');
  client.write(handshake('/chat'));
  const head = await within(readUntil(client, (t) => t.includes('\r\n\r\n')), 3000, 'the 101 response');
  expect(head).toMatch(/^HTTP\/1\.1 101 /);
  expect(head.toLowerCase()).toContain(`sec-websocket-accept: ${createHash('sha1').update(KEY + GUID).digest("base64").toLowerCase()}`);
  const { req } = await upgraded.promise;
  expect(req.headers['x-request-id']).toBe('ws-chat');
  expect(req.headers['x-forwarded-for']).toBe('127.0.0.1');

  const echo = readUntil(client, (t) => t === 'ping-frame-bytes');
  client.write('ping-frame-bytes');
  expect(await within(echo, 3000, 'the echo')).toBe('ping-frame-bytes');
  expect(await metric(stack, 'infergate_websocket_connections')).toBe(1);
  expect(backends(stack)[0]!.inflight).toBe(1);

  const { socket: upstream } = await upgraded.promise;
  client.destroy();
  await within(socketClosed(upstream), 3000, 'the upstream socket to close');
  expect(await metric(stack, 'infergate_websocket_connections')).toBe(0);
  expect(await upgrades('upgraded')).toBe(before + 1);
  expect(backends(stack)[0]!.inflight).toBe(0);
});

test('a client that leaves before the backend answered the upgrade leaks nothing', async () => {
  const before = await upgrades('client-aborted');
  upgraded = deferred();
  const client = net.connect(stack.port, '127.0.0.1');
  client.on('error', () => {});
  client.write(handshake('/hang'));
  const { socket: upstream } = await within(upgraded.promise, 3000, 'the upgrade request at the backend');
  expect(backends(stack)[0]!.inflight).toBe(1);
  client.destroy();
  await within(socketClosed(upstream), 3000, 'the upstream socket to close');
  expect(backends(stack)[0]!.inflight).toBe(0);
  expect(await metric(stack, 'infergate_websocket_connections')).toBe(0);
  expect(await upgrades('client-aborted')).toBe(before + 1);
});

test('a backend that refuses the upgrade: its answer reaches the client, counted as rejected, nothing held', async () => {
  const before = await upgrades('rejected');
  upgraded = deferred();
  const client = net.connect(stack.port, '127.0.0.1');
  client.write(handshake('/forbidden'));
  const reply = await within(readUntil(client, (t) => t.endsWith('\r\n\r\nno')), 3000, 'the 403');
  expect(reply).toMatch(/^HTTP\/1\.1 403 /);
  client.destroy();
  await within(new Promise<void>((r) => client.once('close', () => r())), 3000, 'the client to close');
  // The proxy sees the close on its next read; the tunnel count goes to 0 once it has.
  for (let i = 0; backends(stack)[0]!.inflight !== 0; i++) {
    if (i === 200) throw new Error('inflight stuck');
    await metric(stack, 'infergate_websocket_connections');
  }
  expect(await metric(stack, 'infergate_websocket_connections')).toBe(0);
  expect(await upgrades('rejected')).toBe(before + 1);
});

test('bytes the client sent right behind the handshake are not lost', async () => {
  const before = await upgrades('upgraded');
  upgraded = deferred();
  const client = net.connect(stack.port, '127.0.0.1');
  const reply = readUntil(client, (t) => t.endsWith('\r\n\r\nearly-bytes'));
  client.write(handshake('/early') + 'early-bytes');
  expect(await within(reply, 3000, 'the 101 and the echo of the early bytes')).toMatch(/^HTTP\/1\.1 101 [^]*\r\n\r\nearly-bytes$/);
  const { socket: upstream } = await upgraded.promise;
  client.destroy();
  await within(socketClosed(upstream), 3000, 'the upstream socket to close');
  expect(await metric(stack, 'infergate_websocket_connections')).toBe(0);
  expect(await upgrades('upgraded')).toBe(before + 1);
});

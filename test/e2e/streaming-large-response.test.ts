// A 200 MB response streams back intact and under backpressure: a client that stops reading stalls the backend.
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { once } from 'node:events';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { accessLine, deferred, metric, onePool, within } from './support.js';

const TOTAL = 200 * 1024 * 1024;
const CHUNK = 64 * 1024;
/** Four distinct chunks cycled: a lost, repeated or reordered chunk changes the hash. */
const PATTERN = [randomBytes(CHUNK), randomBytes(CHUNK), randomBytes(CHUNK), randomBytes(CHUNK)];
/** Round trips through the event loop and the kernel with no progress that count as "stalled". */
const STALL_ROUND_TRIPS = 20;
/** What kernel and stream buffers between backend and client may hold while the client reads nothing. */
const MAX_IN_FLIGHT = 48 * 1024 * 1024;

let backend: TestBackend;
let stack: Stack;
let sent = 0;
let waitingForDrain = false;
const backendHash = createHash('sha256');
const backendDone = deferred();

beforeAll(async () => {
  backend = await startBackend((_req, res) => {
    // No Content-Length: a stream of unknown size, as a generation is.
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    void (async () => {
      for (let i = 0; sent < TOTAL; i++) {
        const chunk = PATTERN[i % PATTERN.length]!;
        backendHash.update(chunk);
        sent += chunk.length;
        if (!res.write(chunk)) {
          waitingForDrain = true;
          await once(res, 'drain');
          waitingForDrain = false;
        }
      }
      res.end();
      backendDone.resolve();
    })();
  });
  stack = await startStack(onePool([backend.url]));
});
afterAll(async () => {
  await stack.close();
  await backend.close();
});

test('200 MB come back byte for byte, and a client that stops reading pushes back to the backend', { timeout: 30_000 }, async () => {
  const clientPaused = deferred<http.IncomingMessage>();
  const req = http.get(`${stack.url}/download`, { agent: false, headers: { 'x-request-id': 'big-down' } }, (res) => {
    res.pause();
    clientPaused.resolve(res);
  });
  req.on('error', () => {});
  const res = await within(clientPaused.promise, 5000, 'the response head');

  // Stalled = the backend waits for 'drain' and writes nothing more across many admin round trips.
  let quiet = 0;
  let last = -1;
  while (quiet < STALL_ROUND_TRIPS) {
    expect(sent, 'the proxy absorbed the whole response while the client read nothing').toBeLessThan(TOTAL);
    await metric(stack, 'infergate_build_info');
    quiet = waitingForDrain && sent === last ? quiet + 1 : 0;
    last = sent;
  }
  expect(sent).toBeLessThan(MAX_IN_FLIGHT);

  const clientHash = createHash('sha256');
  let received = 0;
  res.on('data', (c: Buffer) => {
    clientHash.update(c);
    received += c.length;
  });
  res.resume();
  await within(once(res, 'end'), 20_000, 'the end of the response');
  await backendDone.promise;
  expect(received).toBe(TOTAL);
  expect(clientHash.digest('hex')).toBe(backendHash.digest('hex'));
  expect(await accessLine(stack, 'big-down')).toMatchObject({ status: 200, bytesOut: TOTAL });
});

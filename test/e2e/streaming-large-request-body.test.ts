// A 200 MB request body streams to the backend intact and under backpressure: a paused backend stalls the client.
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { once } from 'node:events';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, streaming, type TestBackend } from '../helpers/backend.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { deferred, metric, onePool, within } from './support.js';

const TOTAL = 200 * 1024 * 1024;
const CHUNK = 64 * 1024;
/** Four distinct chunks cycled: a lost, repeated or reordered chunk changes the hash. */
const PATTERN = [randomBytes(CHUNK), randomBytes(CHUNK), randomBytes(CHUNK), randomBytes(CHUNK)];
/** Round trips through the event loop and the kernel with no progress that count as "stalled". */
const STALL_ROUND_TRIPS = 20;
/** What kernel and stream buffers between client and backend may hold while the backend reads nothing. */
const MAX_IN_FLIGHT = 48 * 1024 * 1024;

let backend: TestBackend;
let stack: Stack;
const backendPaused = deferred();
const resumeBackend = deferred();
let receivedByBackend = 0;

beforeAll(async () => {
  backend = await startBackend(
    streaming((req, res) => {
      const hash = createHash('sha256');
      req.on('data', (c: Buffer) => {
        hash.update(c);
        if (receivedByBackend === 0) {
          // Stop reading after the first chunk until the test has seen the client stall.
          req.pause();
          backendPaused.resolve();
          void resumeBackend.promise.then(() => req.resume());
        }
        receivedByBackend += c.length;
      });
      req.on('end', () => res.end(JSON.stringify({ bytes: receivedByBackend, sha256: hash.digest('hex') })));
    }),
  );
  stack = await startStack(onePool([backend.url]));
});
afterAll(async () => {
  await stack.close();
  await backend.close();
});

test('200 MB reach the backend byte for byte, and a paused backend pushes back to the client', { timeout: 30_000 }, async () => {
  let sent = 0;
  let waitingForDrain = false;
  const clientHash = createHash('sha256');
  const req = http.request(`${stack.url}/upload`, { method: 'POST', agent: false, headers: { 'content-length': String(TOTAL), 'x-request-id': 'big-up' } });
  const response = new Promise<string>((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
  });
  const writer = (async () => {
    for (let i = 0; sent < TOTAL; i++) {
      const chunk = PATTERN[i % PATTERN.length]!;
      clientHash.update(chunk);
      sent += chunk.length;
      if (!req.write(chunk)) {
        waitingForDrain = true;
        await once(req, 'drain');
        waitingForDrain = false;
      }
    }
    req.end();
  })();

  await within(backendPaused.promise, 5000, 'the first body bytes at the backend');
  // Stalled = the client waits for 'drain' and sends nothing more across many admin round trips.
  let quiet = 0;
  let last = -1;
  while (quiet < STALL_ROUND_TRIPS) {
    expect(sent, 'the proxy absorbed the whole body while the backend read nothing').toBeLessThan(TOTAL);
    await metric(stack, 'infergate_build_info');
    quiet = waitingForDrain && sent === last ? quiet + 1 : 0;
    last = sent;
  }
  // Socket buffers on the two hops hold ~10 MB on loopback; a proxy that buffered would hold it all.
  expect(sent - receivedByBackend).toBeLessThan(MAX_IN_FLIGHT);

  resumeBackend.resolve();
  await writer;
  const answer = JSON.parse(await within(response, 20_000, 'the backend answer')) as { bytes: number; sha256: string };
  expect(answer).toEqual({ bytes: TOTAL, sha256: clientHash.digest('hex') });
});

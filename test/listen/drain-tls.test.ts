// Shutdown over TLS and HTTP/2: requests in progress finish (HTTP/1.1 over TLS, h2 over TLS, h2c), idle connections
// go at once, both with and without a grace period.
import http2 from 'node:http2';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { makeCa, makeCert, tempDir, writePem, type Pem } from '../helpers/certs.js';
import { h2connect, h2request } from '../helpers/h2-client.js';
import { startStack } from '../helpers/stack.js';
import { onePool } from '../e2e/support.js';

let backend: TestBackend;
let ca: Pem;
let files: { cert: string; key: string };

beforeAll(async () => {
  // Every answer takes 400 ms: a shutdown starting meanwhile must let it finish.
  backend = await startBackend((req, res) => {
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`done ${req.url}`);
    }, 400);
  });
  ca = await makeCa();
  files = writePem(tempDir(), 'tls', await makeCert(ca));
});
afterAll(async () => {
  await backend.close();
});

test.each([0, 300])('requests in progress finish across shutdown (grace %i ms): HTTPS/1.1, h2 over TLS, h2c', async (graceMs) => {
  const stack = await startStack(`listen: [127.0.0.1:0, { address: 127.0.0.1:0, tls: { cert: ${files.cert}, key: ${files.key} } }]\nshutdown: { drainTimeout: 10s }\n${onePool([backend.url])}`);
  const [plain, tls] = stack.ports as [number, number];
  const agent = new Agent({ connect: { ca: ca.cert, servername: 'localhost' } });
  const h2tls = await h2connect(`https://127.0.0.1:${tls}`, { ca: ca.cert, servername: 'localhost' });
  const h2c = await h2connect(`http://127.0.0.1:${plain}`);
  try {
    const https1 = request(`https://127.0.0.1:${tls}/h1`, { dispatcher: agent }).then(async (r) => `${r.statusCode} ${await r.body.text()}`);
    const overTls = h2request(h2tls, { ':path': '/h2' }).then((r) => `${r.status} ${r.body.toString()}`);
    const cleartext = h2request(h2c, { ':path': '/h2c' }).then((r) => `${r.status} ${r.body.toString()}`);
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    const stopped = stack.app.shutdown({ graceMs });
    expect(await Promise.all([https1, overTls, cleartext])).toEqual(['200 done /h1', '200 done /h2', '200 done /h2c']);
    await stopped;
    // Nothing waited for drainTimeout (10 s): the connections closed as their last request finished.
    expect(Date.now() - t0).toBeLessThan(3000);
  } finally {
    h2tls.destroy();
    h2c.destroy();
    await agent.close();
    await stack.close();
  }
});

test('an HTTP/2 client gets GOAWAY when shutdown begins and its open stream still completes', async () => {
  const stack = await startStack(`shutdown: { drainTimeout: 10s }\n${onePool([backend.url])}`);
  const session = await h2connect(`http://127.0.0.1:${stack.port}`);
  try {
    const goaway = new Promise<number>((resolve) => session.once('goaway', (code: number) => resolve(code)));
    const inFlight = h2request(session, { ':path': '/long' });
    await new Promise((r) => setTimeout(r, 100));
    const stopped = stack.app.shutdown({ graceMs: 200 });
    expect(await goaway).toBe(http2.constants.NGHTTP2_NO_ERROR);
    expect((await inFlight).body.toString()).toBe('done /long');
    await stopped;
  } finally {
    session.destroy();
    await stack.close();
  }
});

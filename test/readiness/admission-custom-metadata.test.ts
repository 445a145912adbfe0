// Admission on the http preset: metadataPath + JSON pointers name where version and checksum live; without a
// checksumPointer the checksum is read from /md5, then /parameters/md5.
import { afterEach, expect, test } from 'vitest';
import { ManualClock } from '../helpers/manual-clock.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { idOf, startModel, view, waitState, type Model } from './support.js';

const MD5 = 'd41d8cd98f00b204e9800998ecf8427e';
const OTHER = '0123456789abcdef0123456789abcdef';
let models: Model[] = [];
let stack: Stack;
afterEach(async () => {
  await stack.close();
  await Promise.all(models.map((m) => m.close()));
  models = [];
});

// The first probe and admission check run at once; the proxy's clock never moves, so each backend is checked once.
const FAST = 'jitter: 0, readiness: { path: /health, interval: 7s }';

test('metadataPath with versionPointer and checksumPointer', async () => {
  const right = await startModel({ '/health': 200, '/model-info': { status: 200, body: { build: { modelVersion: 7 }, artifact: { md5: MD5 } } } });
  const wrong = await startModel({ '/health': 200, '/model-info': { status: 200, body: { build: { modelVersion: 7 }, artifact: { md5: OTHER } } } });
  models = [right, wrong];
  stack = await startStack(`
pools:
  p:
    health: { ${FAST}, model: { version: "7", md5: ${MD5}, metadataPath: /model-info, versionPointer: /build/modelVersion, checksumPointer: /artifact/md5 } }
    backends: [${right.url}, ${wrong.url}]
`, { waitReady: false, deps: { clock: new ManualClock() } });
  await waitState(stack, idOf(right.port), 'READY');
  expect((await view(stack, idOf(right.port))).admission).toMatchObject({ ok: true, found: { version: '7', checksum: MD5 } });
  await waitState(stack, idOf(wrong.port), 'MISMATCH');
  expect((await view(stack, idOf(wrong.port))).admission).toMatchObject({
    ok: false,
    found: { version: '7', checksum: OTHER },
    reason: `model mismatch: md5: expected "${MD5}", found "${OTHER}"`,
  });
});

test('default checksum pointers: /md5, then /parameters/md5; name from /name', async () => {
  const top = await startModel({ '/health': 200, '/meta': { status: 200, body: { name: 'iris', md5: MD5 } } });
  const nested = await startModel({ '/health': 200, '/meta': { status: 200, body: { name: 'iris', parameters: { md5: MD5 } } } });
  const none = await startModel({ '/health': 200, '/meta': { status: 200, body: { name: 'iris' } } });
  models = [top, nested, none];
  stack = await startStack(`
pools:
  p:
    health: { ${FAST}, model: { name: iris, md5: ${MD5}, metadataPath: /meta } }
    backends: [${top.url}, ${nested.url}, ${none.url}]
`, { waitReady: false, deps: { clock: new ManualClock() } });
  await waitState(stack, idOf(top.port), 'READY');
  await waitState(stack, idOf(nested.port), 'READY');
  expect((await view(stack, idOf(nested.port))).admission).toMatchObject({ ok: true, found: { name: 'iris', checksum: MD5 } });
  await waitState(stack, idOf(none.port), 'MISMATCH');
  expect((await view(stack, idOf(none.port))).admission).toMatchObject({ ok: false, reason: `model mismatch: md5: expected "${MD5}", found nothing` });
});

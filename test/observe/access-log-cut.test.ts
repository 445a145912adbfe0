// A response whose head went out and that a failure then cut is logged as cut (status as sent, `cut: <failure code>`),
// never as a plain 200.
import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { startStack, type Stack } from '../helpers/stack.js';

let backend: TestBackend;
let stack: Stack;
const stalled: ServerResponse[] = [];

beforeAll(async () => {
  backend = await startBackend((req, res) => {
    // No content-length: the head is forwarded at once, then one chunk.
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: first\n\n');
    if (req.url === '/reset') setTimeout(() => res.socket?.destroy(), 50);
    else stalled.push(res); // /stall: nothing more; the idle timeout cuts it
  });
  stack = await startStack(`
pools:
  p:
    outlier: false
    timeouts: { idle: 300ms }
    health: { readiness: { path: /health, interval: 1s, timeout: 1s } }
    backends: [${backend.url}]
`);
});
afterAll(async () => {
  for (const r of stalled) r.destroy();
  await stack.close();
  await backend.close();
});

async function cutRequest(path: string, id: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${stack.url}${path}`, { headers: { 'x-request-id': id } });
  expect(res.status).toBe(200);
  // The body ends in an error: the client sees the cut too.
  await expect(res.text()).rejects.toThrow();
  return stack.waitForLog((l) => l.kind === 'access' && l.requestId === id);
}

test('the backend resets mid-stream: status 200 with cut upstream-reset', async () => {
  const line = await cutRequest('/reset', 'cut-reset');
  expect(line).toMatchObject({ status: 200, upstreamStatus: 200, cut: 'upstream-reset', error: 'upstream-reset', attempts: 1 });
  expect(line.bytesOut).toBe('data: first\n\n'.length);
  expect(line.firstByteMs).not.toBe(-1);
});

test('the stream stalls past the idle timeout: cut idle-timeout', async () => {
  const line = await cutRequest('/stall', 'cut-idle');
  expect(line).toMatchObject({ status: 200, cut: 'idle-timeout', error: 'idle-timeout' });
  expect(line.totalMs as number).toBeGreaterThanOrEqual(250);
});

test('a complete stream has no cut', async () => {
  backend.handle((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.end('data: all\n\n');
  });
  const res = await fetch(`${stack.url}/whole`, { headers: { 'x-request-id': 'whole' } });
  expect(await res.text()).toBe('data: all\n\n');
  const line = await stack.waitForLog((l) => l.kind === 'access' && l.requestId === 'whole');
  expect(line).toMatchObject({ status: 200 });
  expect(line).not.toHaveProperty('cut');
  expect(line).not.toHaveProperty('error');
});

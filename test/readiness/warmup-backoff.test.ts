// A failing warm-up sends the backend back to LOADING with a logged reason and retries after 1 s, then 2 s, ...
// of the injected clock, independent of the readiness interval.
import { afterEach, expect, test } from 'vitest';
import { ManualClock } from '../helpers/manual-clock.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { changes, idOf, isUser, metric, startModel, until, view, waitChange, waitState, type Model } from './support.js';

let model: Model;
let stack: Stack;
afterEach(async () => {
  await stack.close();
  await model.close();
});

test('two failed warm-ups (back-off 1 s, then 2 s), the third succeeds', async () => {
  const clock = new ManualClock();
  model = await startModel({ '/health': 200 }, clock);
  let failing = 2;
  model.handle((_req, res) => {
    const ok = failing-- <= 0;
    res.writeHead(ok ? 200 : 500, { 'content-type': 'application/json' });
    res.end(ok ? '{"ok":true}' : '{"error":"cold"}');
  });
  stack = await startStack(`
pools:
  p:
    health: { jitter: 0, readiness: { path: /health, interval: 1h } }
    warmup: { requests: 1, method: POST, path: /warm, body: '{}' }
    backends: [${model.url}]
`, { waitReady: false, deps: { clock } });
  const id = idOf(model.port);

  await waitChange(stack, id, 'LOADING', 1);
  let v = await view(stack, id);
  expect(v.state).toBe('LOADING');
  expect(v.stateReason).toBe('warm-up failed: warm-up request 1 answered 500; retrying after 1 s');
  expect(v.warmup).toMatchObject({ ok: false, reason: 'warm-up request 1 answered 500' });
  expect(stack.logs.find((l) => l.msg === 'backend state changed' && l.to === 'LOADING')).toMatchObject({ level: 'warn', from: 'WARMING', reason: v.stateReason });

  clock.advance(999);
  await until(stack, () => true, 'one round trip');
  expect(model.requests).toHaveLength(1);
  clock.advance(1);
  await waitChange(stack, id, 'LOADING', 2);
  expect((await view(stack, id)).stateReason).toBe('warm-up failed: warm-up request 1 answered 500; retrying after 2 s');

  clock.advance(1999);
  await until(stack, () => true, 'one round trip');
  expect(model.requests).toHaveLength(2);
  clock.advance(1);
  await waitState(stack, id, 'READY');

  expect(model.requests.map((s) => s.at)).toEqual([0, 1000, 3000]);
  expect(model.requests.filter(isUser)).toEqual([]);
  expect(changes(stack, id)).toEqual(['LOADING->WARMING', 'WARMING->LOADING', 'LOADING->WARMING', 'WARMING->LOADING', 'LOADING->WARMING', 'WARMING->READY']);
  expect(await metric(stack, 'infergate_warmups_total', { backend: id, result: 'failed' })).toBe(2);
});

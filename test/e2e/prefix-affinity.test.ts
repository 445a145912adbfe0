// Prefix affinity seen from clients: three fake model servers record which prompt reached which; conversations sharing
// a system prompt stay on the server that first got it (chat and completions alike), a body too large to read ahead
// goes without, and the gate spreads a burst that would pile onto one server. Access log and metrics say which.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { accessLine, metric, onePool, request, waitAllReady } from './support.js';

let servers: TestBackend[];
let stack: Stack;
/** Per server, a delay before answering (ms): the gate test holds requests in flight. */
const delay = new Map<number, number>();

beforeAll(async () => {
  servers = await Promise.all([0, 1, 2].map(async (i) => {
    const reply = (_req: IncomingMessage, res: ServerResponse): void => {
      const answer = (): void => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ server: i }));
      };
      const ms = delay.get(i) ?? 0;
      if (ms > 0) setTimeout(answer, ms);
      else answer();
    };
    return startBackend(reply);
  }));
  stack = await startStack(onePool(servers.map((s) => s.url), `    requestBody: { buffer: 4kb }
    retry: { bufferBody: 4kb }
    affinity: { prefix: { blockSize: 16, maxImbalance: { absolute: 2, relative: 1.5 } } }`));
  await waitAllReady(stack);
});
afterAll(async () => {
  await stack.close();
  await Promise.all(servers.map((s) => s.close()));
});

// Different from the first character: a shared first block would be a (correct) hit across conversations.
const system = (n: number): string => `${n}: you are an assistant. Answer briefly, cite sources, and never make things up.`;

async function post(path: string, doc: unknown, id: string): Promise<number> {
  const r = await request(`${stack.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': id }, body: JSON.stringify(doc) });
  expect(r.status).toBe(200);
  return (JSON.parse(r.body.toString()) as { server: number }).server;
}

describe('prefix affinity', () => {
  it('each conversation stays on the server that first got its system prompt; misses spread by the balancer', async () => {
    const where = new Map<number, Set<number>>();
    const outcomes: unknown[] = [];
    for (let turn = 0; turn < 4; turn++) {
      for (let conv = 0; conv < 3; conv++) {
        const id = `conv${conv}-turn${turn}`;
        // Conversation 0 and 1 speak chat, 2 the completions API: the same prompt either way.
        const server = conv < 2
          ? await post('/v1/chat/completions', { model: 'm', messages: [{ role: 'system', content: system(conv) }, { role: 'user', content: `question ${turn}` }] }, id)
          : await post('/v1/completions', { model: 'm', prompt: `${system(conv)} question ${turn}` }, id);
        (where.get(conv) ?? where.set(conv, new Set()).get(conv)!).add(server);
        outcomes.push((await accessLine(stack, id)).affinity);
      }
    }
    for (const conv of [0, 1, 2]) expect(where.get(conv)!.size).toBe(1);
    // Round robin took the three misses: one conversation per server.
    expect(new Set([...where.values()].map((s) => [...s][0])).size).toBe(3);
    expect(outcomes.slice(0, 3)).toEqual(['miss', 'miss', 'miss']);
    expect(outcomes.slice(3).every((o) => o === 'hit')).toBe(true);
    expect(await metric(stack, 'infergate_prefix_affinity_total', { pool: 'p', result: 'hit' })).toBe(9);
    expect(await metric(stack, 'infergate_prefix_affinity_total', { pool: 'p', result: 'miss' })).toBe(3);
  });

  it('a body larger than the read-ahead limit, or without a prompt, goes without affinity', async () => {
    await post('/v1/completions', { model: 'm', prompt: `${system(0)} ${'x'.repeat(5000)}` }, 'large');
    expect((await accessLine(stack, 'large')).affinity).toBe('no-prompt');
    await post('/v1/embeddings', { model: 'm', input: 'embed this text please' }, 'embed');
    expect((await accessLine(stack, 'embed')).affinity).toBe('no-prompt');
  });

  it('the gate: a burst sharing one prefix fills its server only up to the imbalance margins, the rest goes elsewhere', async () => {
    for (const i of [0, 1, 2]) delay.set(i, 300);
    const prompt = `${system(9)} burst`;
    const first = await post('/v1/completions', { model: 'm', prompt }, 'burst-first');
    const before = servers.map((s) => s.requests.length);
    const served = await Promise.all(Array.from({ length: 9 }, (_, i) => post('/v1/completions', { model: 'm', prompt }, `burst-${i}`)));
    const outcomes = await Promise.all(Array.from({ length: 9 }, (_, i) => accessLine(stack, `burst-${i}`).then((l) => l.affinity)));
    delay.clear();
    expect(outcomes.filter((o) => o === 'gated').length).toBeGreaterThan(0);
    expect(outcomes.filter((o) => o === 'hit').length).toBeGreaterThanOrEqual(3);
    // The preferred server did not take the whole burst.
    expect(served.filter((s) => s === first).length).toBeLessThan(9);
    expect(servers.map((s, i) => s.requests.length - before[i]!).reduce((a, b) => a + b)).toBe(9);
  });
});

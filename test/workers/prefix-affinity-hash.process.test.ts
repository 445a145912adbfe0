// Prefix affinity with `workers: 2` and `onMiss: hash`, as a real process tree: each worker keeps its own memory of
// what went where, yet every conversation stays on one backend — a prompt no backend holds goes to the rendezvous
// backend of its first block, the same in every worker. Requests use fresh connections, so they reach both workers.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, test } from 'vitest';
import { killProc, runCli, tempConfig, type Proc } from '../lifecycle/process.js';

let proc: Proc | null = null;
const servers: http.Server[] = [];

afterEach(async () => {
  await killProc(proc);
  proc = null;
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A fake model server recording the conversation of every request it gets. */
async function server(name: string, seen: Map<string, Set<string>>): Promise<string> {
  const s = http.createServer((req, res) => {
    if (req.url === '/health') return res.end('ok');
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const conv = (JSON.parse(Buffer.concat(chunks).toString()) as { user: string }).user;
      (seen.get(conv) ?? seen.set(conv, new Set()).get(conv)!).add(name);
      res.end(name);
    });
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  servers.push(s);
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

function post(port: number, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/v1/chat/completions', method: 'POST', agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('every conversation stays on one backend across both workers', async () => {
  const seen = new Map<string, Set<string>>();
  const urls = await Promise.all(['a', 'b', 'c'].map((n) => server(n, seen)));
  proc = runCli(['--config', tempConfig(`listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
workers: 2
log: { accessLog: false }
pools:
  p:
    balance: round-robin
    health: { readiness: { path: /health, interval: 200ms, timeout: 1s } }
    affinity: { prefix: { blockSize: 16, onMiss: hash } }
    backends: [${urls.join(', ')}]
`)]);
  const p = proc;
  await p.waitForLog((l) => l.msg === 'workers started');
  const worker = await p.waitForLog((l) => l.msg === 'infergate started' && l.role === 'worker');
  await expect.poll(() => p.logs.filter((l) => l.msg === 'infergate started' && l.role === 'worker').length, { timeout: 5000 }).toBe(2);
  const port = Number(String(worker.listen).split(':').at(-1));
  // Every backend READY in both workers: a request of each conversation answers 200.
  await expect.poll(async () => post(port, JSON.stringify({ user: 'warm', messages: [{ role: 'user', content: 'warming up the pool, nothing more' }] })), { timeout: 10_000 }).toBe(200);
  await new Promise((r) => setTimeout(r, 500));
  seen.clear();
  // Odd: with the cluster module's round-robin hand-off of connections, each turn of a conversation reaches the other worker.
  const conversations = 7;
  for (let turn = 0; turn < 4; turn++) {
    for (let c = 0; c < conversations; c++) {
      const messages = [{ role: 'system', content: `${c}: the system prompt of conversation ${c}, long enough for blocks` }, { role: 'user', content: `turn ${turn}` }];
      expect(await post(port, JSON.stringify({ model: 'm', user: `c${c}`, messages }))).toBe(200);
    }
  }
  for (let c = 0; c < conversations; c++) expect([`c${c}`, seen.get(`c${c}`)?.size]).toEqual([`c${c}`, 1]);
  // The rendezvous spreads conversations: more than one backend is used.
  expect(new Set([...seen.values()].map((s) => [...s][0])).size).toBeGreaterThan(1);
}, 30_000);

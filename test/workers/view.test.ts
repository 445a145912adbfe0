// The owner / worker seam in one process: a worker's clusters route exactly by the owner's view (states, weights,
// members), and what a worker's traffic says reaches the owner's outlier detection, which ejects — and that verdict
// comes back in the next view. (The process tree itself: workers.process.test.ts.)
import { afterEach, expect, test } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import type { ToOwner } from '../../src/workers/messages.js';
import { applyView, captureView } from '../../src/workers/view.js';
import { WorkerLink } from '../../src/workers/worker.js';
import { startBackend, type TestBackend } from '../helpers/backend.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { startStack, type Stack } from '../helpers/stack.js';

let owner: Stack;
let worker: App;
const backends: TestBackend[] = [];
afterEach(async () => {
  await worker?.close();
  await owner?.close();
  await Promise.all(backends.splice(0).map((b) => b.close()));
});

const yaml = (urls: string[]): string => `
pools:
  p:
    balance: round-robin
    health: { readiness: { path: /health, interval: 1s } }
    outlier: { consecutiveGatewayErrors: 3, consecutive5xx: 0 }
    groups:
      stable: { weight: 90, backends: [${urls[0]}] }
      canary: { weight: 10, backends: [${urls[1]}] }
`;

function workerApp(text: string, link: WorkerLink, clock: ManualClock): App {
  const parsed = parseConfig(`listen: 127.0.0.1:0\nadmin: { listen: 127.0.0.1:0 }\nlog: { level: silent, accessLog: false }\n${text}`, 'w.yaml', {});
  if (!parsed.ok) throw new Error(parsed.errors.map((e) => e.message).join('\n'));
  const app = createApp(parsed.config, { role: 'worker', worker: link, clock, defaultMetrics: false });
  link.setClusters(() => app.pools());
  return app;
}

/** An owner (a whole app) over two backends, and a worker app linked to a recorder of what it sends. */
async function ownerAndWorker(): Promise<{ a: TestBackend; link: WorkerLink; sent: ToOwner[] }> {
  const a = await startBackend();
  const b = await startBackend();
  backends.push(a, b);
  owner = await startStack(yaml([a.url, b.url]), { deps: { clock: new ManualClock() } });
  const sent: ToOwner[] = [];
  const link = new WorkerLink((m) => sent.push(m));
  worker = workerApp(yaml([a.url, b.url]), link, new ManualClock());
  return { a, link, sent };
}

test('a worker routes by the view: states, group weights and members as the owner has them', async () => {
  const { a } = await ownerAndWorker();
  const w = worker.cluster('p')!;
  // Before any view a worker routes nowhere: its backends are LOADING and it runs no probes of its own.
  expect(w.hasReady()).toBe(false);
  await owner.waitForLog((l) => l.msg === 'backend state changed' && l.to === 'READY' && String(l.backend).includes('canary'));
  applyView(captureView(owner.app.pools()), (p) => worker.cluster(p));
  expect(w.backends.map((x) => x.state())).toEqual(['READY', 'READY']);

  // A group weight moved by a rollout (or the admin API) in the owner.
  owner.app.cluster('p')!.group('canary')!.weight = 50;
  // A member added in the owner (discovery, admin API).
  const c = await startBackend();
  backends.push(c);
  owner.app.cluster('p')!.setMembers('stable', [a.url, c.url], (o) => ({ id: `p.stable.${new URL(o).host}`, url: new URL(o), origin: o, weight: 1, maxConcurrent: 0 }), 'test');
  applyView(captureView(owner.app.pools()), (p) => worker.cluster(p));
  expect(w.group('canary')!.weight).toBe(50);
  expect(w.group('stable')!.backends.map((x) => x.origin)).toEqual([a.url, c.url]);
  // The new member is LOADING in the owner until its probe passes; the worker shows the same.
  expect(w.group('stable')!.backends[1]!.state()).toBe(owner.app.cluster('p')!.group('stable')!.backends[1]!.state());
});

test("a worker's failures reach the owner's outlier detection; the ejection comes back in the view", async () => {
  const { link, sent } = await ownerAndWorker();
  await owner.waitForLog((l) => l.msg === 'backend state changed' && l.to === 'READY' && String(l.backend).includes('canary'));
  applyView(captureView(owner.app.pools()), (p) => worker.cluster(p));
  const wb = worker.cluster('p')!.group('stable')!.backends[0]!;
  // Three gateway errors on the worker's traffic, then one batch to the owner.
  const sink = link.outlierSink('p');
  sink.report(wb, 'success');
  for (let i = 0; i < 3; i++) sink.report(wb, 'gateway-error');
  link.flush();
  const batch = sent.find((m) => m.type === 'infergate:signals');
  expect(batch?.type === 'infergate:signals' && batch.signals).toEqual([{ t: 'outcomes', pool: 'p', id: wb.id, runs: [['success', 1], ['gateway-error', 3]] }]);
  // The owner feeds them to its detector as its own traffic: consecutive gateway errors eject.
  const oc = owner.app.cluster('p')!;
  const ob = oc.group('stable')!.backends[0]!;
  if (batch?.type === 'infergate:signals') for (const s of batch.signals) if (s.t === 'outcomes') oc.outcomesFromWorker(ob, s.runs);
  expect(ob.state()).toBe('EJECTED');
  applyView(captureView(owner.app.pools()), (p) => worker.cluster(p));
  expect(wb.state()).toBe('EJECTED');
  expect(wb.routable()).toBe(false);
});

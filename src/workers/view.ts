// The routing view: what a worker process needs to route exactly as the owner would — every backend's health record
// (its visible state follows), weight and slow-start age, every group's weight and members. The owner captures it
// from its clusters and pushes it; a worker applies it to its own clusters, which run no probes of their own.
import { discoveredConfig } from '../cluster/members.js';
import type { Health } from '../backends/state.js';
import type { Cluster } from '../cluster/cluster.js';

export interface BackendView {
  readonly id: string;
  readonly origin: string;
  readonly weight: number;
  readonly health: Health;
  readonly reason: string;
  /** ms since it became READY (slow start), -1 if never. */
  readonly readyForMs: number;
  /** The server's last scraped load (signals/scraper.ts runs in the owner), its age instead of a clock time; absent if none. */
  readonly load?: { readonly queued?: number; readonly running?: number; readonly kvUsage?: number; readonly seq?: number; readonly ageMs: number };
}

export interface GroupView {
  readonly name: string;
  readonly weight: number;
  readonly backends: readonly BackendView[];
}

export interface PoolView {
  readonly name: string;
  readonly groups: readonly GroupView[];
}

export interface RoutingView {
  readonly pools: readonly PoolView[];
}

export function captureView(clusters: Iterable<Cluster>): RoutingView {
  const pools: PoolView[] = [];
  for (const c of clusters) {
    pools.push({
      name: c.name,
      groups: c.groups.map((g) => ({
        name: g.name,
        weight: g.weight,
        backends: g.backends.map((b) => {
          const m = b.mirrorState();
          // holdUntil is the owner's monotonic clock (warm-up back-off): meaningless in another process.
          const view: BackendView = { id: b.id, origin: b.origin, weight: b.weight, health: { ...m.health, holdUntil: 0 }, reason: m.reason, readyForMs: m.readyForMs };
          // The scrape time is the owner's monotonic clock: it travels as an age, as readyForMs does.
          const load = b.lastServerLoad();
          const ageMs = b.serverLoadAgeMs();
          if (load === undefined || ageMs === undefined) return view;
          const { at: _at, ...values } = load;
          return { ...view, load: { ...values, ageMs } };
        }),
      })),
    });
  }
  return { pools };
}

/** Makes the worker's clusters route as the view says: members, weights, then each backend's health. */
export function applyView(view: RoutingView, cluster: (pool: string) => Cluster | undefined): void {
  for (const pv of view.pools) {
    const c = cluster(pv.name);
    if (c === undefined) continue; // a reload in progress: the next view matches
    for (const gv of pv.groups) {
      const g = c.group(gv.name);
      if (g === undefined) continue;
      g.weight = gv.weight;
      const origins = gv.backends.map((b) => b.origin);
      if (origins.length !== g.backends.length || g.backends.some((b, i) => b.origin !== origins[i])) {
        const gc = c.config.groups.find((x) => x.name === gv.name)!;
        c.setMembers(gv.name, origins, (o) => discoveredConfig(o, c.config, gc), 'no longer in the owner\'s view');
      }
      const byId = new Map(g.backends.map((x) => [x.id, x]));
      for (const bv of gv.backends) {
        const b = byId.get(bv.id);
        if (b === undefined) continue;
        b.weight = bv.weight;
        b.mirror(bv.health, bv.reason, bv.readyForMs);
        if (bv.load !== undefined) b.mirrorServerLoad(bv.load);
      }
    }
    // Server loads moved with the view: requests held for overload may go now.
    c.loadChanged();
  }
}

// Whether one backend is past its overload thresholds, from what its server said (queue length, KV-cache use) or, with
// nothing fresh from it, from infergate's own in-flight count. Pure: the guard (guard.ts) supplies the queue estimate.
import type { OverloadConfig } from '../config/types.js';
import type { ServerLoad } from '../signals/types.js';

export type Thresholds = Pick<OverloadConfig, 'queue' | 'kvUsage' | 'inflight'>;

/**
 * `load`: the server's last fresh scrape, or undefined; `queued`: its queue as estimated now (the scraped length moved
 * by what infergate sent and saw end since). A field the server does not export is not judged; a threshold of 0 is off.
 */
export function pastThresholds(load: ServerLoad | undefined, queued: number, inflight: number, t: Thresholds): boolean {
  if (load === undefined) return t.inflight > 0 && inflight >= t.inflight;
  if (t.queue > 0 && load.queued !== undefined && queued >= t.queue) return true;
  return t.kvUsage > 0 && load.kvUsage !== undefined && load.kvUsage >= t.kvUsage;
}

/**
 * The server's queue now: its scraped length, plus the requests infergate started on it since the scrape, minus those
 * that ended (its in-flight count then and now). Between two scrapes (100-250 ms) a burst would otherwise all land on a
 * server that said "4 waiting", and a held request would wait for the next scrape after the queue drained.
 * A server that said "nothing waiting" had room: what infergate sent since is not counted as queued (it may well be
 * running — a batch has many slots), else every idle server would take at most `queue` new requests per scrape
 * interval and a burst into an idle fleet would be held. Its next scrape says whether they queued.
 */
export function estimatedQueue(scraped: number, inflightAtScrape: number, inflightNow: number): number {
  if (scraped <= 0) return 0;
  return Math.max(0, scraped + inflightNow - inflightAtScrape);
}

// The event log's view of the clusters' event stream: one line per state change, ejection, membership change.
import type { ClusterEvent } from '../cluster/events.js';
import type { Logger } from './log.js';

export function logClusterEvents(log: Logger): (e: ClusterEvent) => void {
  return (e) => {
    switch (e.type) {
      case 'state': {
        const b = e.backend;
        const entry = { backend: b.id, pool: b.pool, group: b.group, from: e.from, to: e.to, source: e.source, reason: e.reason };
        if (e.to === 'READY') log.info(entry, 'backend state changed');
        else log.warn(entry, 'backend state changed');
        return;
      }
      case 'ejected': {
        const b = e.backend;
        log.warn({ backend: b.id, pool: b.pool, group: b.group, detector: e.detector, durationMs: e.durationMs, ejections: e.ejections, reason: e.reason, ...(e.by === undefined ? {} : { decidedBy: e.by }) }, e.by === undefined ? 'backend ejected' : 'backend ejected by another replica');
        return;
      }
      case 'ejection-ended':
        log.info({ backend: e.backend.id, pool: e.backend.pool, reason: e.reason }, 'backend ejection ended: back through its readiness probe');
        return;
      case 'ejection-skipped':
        log.warn({ backend: e.backend.id, pool: e.backend.pool, detector: e.detector, reason: e.reason }, 'backend not ejected: ejection limit reached');
        return;
      case 'members':
        log.info({ pool: e.pool, group: e.group, added: e.added.map((b) => b.id), removed: e.removed.map((b) => b.id) }, 'DNS discovery changed the backends');
        return;
      case 'discovery-failed':
        log.warn({ pool: e.pool, group: e.group, dns: e.dns, error: e.error }, 'DNS discovery failed: keeping the last known backends');
        return;
      case 'group-fallback':
        return;
      default: {
        const never: never = e;
        throw new Error(`unknown cluster event ${JSON.stringify(never)}`);
      }
    }
  };
}

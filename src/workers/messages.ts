// What the owner process and its workers say to each other over node:cluster's IPC channel.
import type { Outcome } from '../outlier/types.js';
import type { RoutingView } from './view.js';

/**
 * What a worker's traffic said since its last batch, for the owner's outlier detection, canary analysis and
 * probes. Per backend the outcomes in order as runs (consecutive-error detectors need the order; a healthy backend is
 * one run), per canary group the latencies of good and bad attempts.
 */
export type Signal =
  | { readonly t: 'outcomes'; readonly pool: string; readonly id: string; readonly runs: ReadonlyArray<readonly [Outcome, number]> }
  | { readonly t: 'rollout'; readonly pool: string; readonly group: string; readonly ok: readonly number[]; readonly failed: readonly number[] }
  | { readonly t: 'reverify'; readonly pool: string; readonly id: string; readonly reason: string }
  | { readonly t: 'probe-now'; readonly pool: string; readonly id: string };

/** Per backend, what a worker has in flight now and has done since its last report. */
export interface BackendCounts {
  readonly inflight: number;
  readonly requests: number;
  readonly errors: number;
}

export type ToWorker =
  | { readonly type: 'infergate:view'; readonly view: RoutingView }
  | { readonly type: 'infergate:reload'; readonly text: string; readonly file: string }
  | { readonly type: 'infergate:shutdown'; readonly graceMs: number }
  | { readonly type: 'infergate:reopen' }
  | { readonly type: 'infergate:metrics-request'; readonly id: number };

export type ToOwner =
  | { readonly type: 'infergate:ready' }
  | { readonly type: 'infergate:signals'; readonly signals: readonly Signal[]; readonly counts: Record<string, BackendCounts> }
  | { readonly type: 'infergate:metrics'; readonly id: number; readonly metrics: unknown };

/** Ours, not another library's (prom-client's cluster messages share the channel). */
function ours(m: unknown): boolean {
  return typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string' && (m as { type: string }).type.startsWith('infergate:');
}

export const isToWorker = (m: unknown): m is ToWorker => ours(m);
export const isToOwner = (m: unknown): m is ToOwner => ours(m);

// The one typed stream of what happens to backends — state transitions, ejections, membership — that the
// wait queue, rollouts, metrics and logs subscribe to. Published synchronously, in order.
import type { Backend } from '../backends/backend.js';
import type { BackendState, ChangeSource } from '../backends/state.js';
import type { Detector } from '../outlier/types.js';

export type ClusterEvent =
  /** A backend's visible state changed; `source` is the health source whose flag moved it. */
  | { readonly type: 'state'; readonly backend: Backend; readonly source: ChangeSource; readonly from: BackendState; readonly to: BackendState; readonly reason: string }
  | { readonly type: 'ejected'; readonly backend: Backend; readonly detector: Detector; readonly reason: string; readonly durationMs: number; readonly ejections: number; /** Another replica decided it (coordination/). */ readonly by?: string }
  | { readonly type: 'ejection-ended'; readonly backend: Backend; readonly reason: string }
  | { readonly type: 'ejection-skipped'; readonly backend: Backend; readonly detector: Detector; readonly reason: string }
  /** Discovery changed a group's members. */
  | { readonly type: 'members'; readonly pool: string; readonly group: string; readonly added: readonly Backend[]; readonly removed: readonly Backend[]; readonly reason: string }
  | { readonly type: 'discovery-failed'; readonly pool: string; readonly group: string; readonly dns: string; readonly error: string }
  /** A request's group had no backend able to take it and went to another group. */
  | { readonly type: 'group-fallback'; readonly pool: string; readonly group: string };

export type ClusterListener = (e: ClusterEvent) => void;

/** Publish / subscribe, synchronous: a subscriber sees an event before the publisher goes on. */
export class EventStream<E> {
  #listeners: ReadonlyArray<(e: E) => void> = [];

  /** Returns the unsubscribe function. */
  subscribe(listener: (e: E) => void): () => void {
    this.#listeners = [...this.#listeners, listener];
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }

  publish(e: E): void {
    for (const l of this.#listeners) l(e);
  }
}

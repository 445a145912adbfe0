// The rollout module's public surface, for the composition root and the admin API.

export { RolloutController, HISTORY_LIMIT, type RolloutControllerOptions } from './controller.js';
export { ERROR_RATE_FLOOR, LATENCY_FLOOR_MS } from './analysis.js';
export { snapshotFromJSON } from './snapshot.js';
export { loadState, saveState, RolloutStateFileError, type RolloutStateFileContent } from './state-file.js';
export type * from './types.js';

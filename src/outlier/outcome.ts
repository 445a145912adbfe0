// Mapping of an upstream HTTP status to an outlier Outcome, for callers that have a status (failures without one are gateway errors).
import type { Outcome } from './types.js';

/**
 * 502/503/504 are gateway errors, other 5xx server errors, anything else success (a 4xx is the client's fault).
 * `extraServerErrors` lets a pool count more statuses as server errors, e.g. TGI's 424 (model failed to generate).
 */
export function outcomeForStatus(status: number, extraServerErrors?: ReadonlySet<number>): Outcome {
  if (status === 502 || status === 503 || status === 504) return 'gateway-error';
  if (status >= 500 && status <= 599) return 'server-error';
  if (extraServerErrors !== undefined && extraServerErrors.has(status)) return 'server-error';
  return 'success';
}

// The status page's rollout row carries one line of the last check's evidence, built in the browser from /admin/rollouts.
import { expect, it } from 'vitest';
import { STATUS_PAGE } from '../../src/admin/status-page.js';
import { analyse } from '../../src/rollout/analysis.js';
import type { RolloutCheck } from '../../src/rollout/types.js';
import { rolloutConfig } from '../helpers/config.js';

/** The page's own `evidence()` (and the helpers it uses), taken out of its script. */
function pageEvidence(): (c: RolloutCheck) => string {
  const script = STATUS_PAGE.split('<script>')[1]!.split('</script>')[0]!;
  const from = script.indexOf('  const pv =');
  const to = script.indexOf('  async function get(');
  return new Function(`${script.slice(from, to)}; return evidence;`)() as (c: RolloutCheck) => string;
}

it('shows errors, latency at the median and the compared quantile with p-values, samples and backends out', () => {
  const sample = (n: number, errors: number, ms: number) => ({ requests: n, errors, latencies: Float64Array.from({ length: n - errors }, (_, i) => ms + i / n) });
  const check = analyse(sample(200, 2, 30), sample(2_000, 5, 20), rolloutConfig(), 60_000, '2024-01-01T00:00:00.000Z', [
    { id: 'p.canary.127.0.0.1:9202', state: 'EJECTED', reason: 'ejected', since: '2024-01-01T00:00:00.000Z' },
  ]);
  const line = JSON.parse(JSON.stringify(check)) as RolloutCheck; // what the page gets
  expect(pageEvidence()(line)).toBe('errors 2/200 vs 5/2000 (p = 0.074) · p50 30.5 vs 20.5 ms (p < 0.0001) · p94 30.9 vs 20.9 ms (p < 0.0001) · 198 vs 1995 latency samples · out: p.canary.127.0.0.1:9202 EJECTED');
});

it('shows nothing for a check restored without its evidence', () => {
  expect(pageEvidence()(null as unknown as RolloutCheck)).toBe('');
});

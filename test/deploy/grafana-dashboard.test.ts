// deploy/grafana/infergate-dashboard.json: valid JSON Grafana imports, every query parses as PromQL and names
// only metrics (and labels) infergate exports, and the panels an operator of canaries and streams needs are there.
import { readFileSync } from 'node:fs';
import { beforeAll, expect, test } from 'vitest';
import { exportedSeries, parsePromql, problems, withGrafanaVariables } from './promql.js';

interface Target { expr: string; refId: string }
interface Panel { id: number; type: string; title: string; targets?: Target[]; gridPos: { x: number; y: number; w: number; h: number } }
const dashboard = JSON.parse(readFileSync(new URL('../../deploy/grafana/infergate-dashboard.json', import.meta.url), 'utf8')) as {
  uid: string; title: string; schemaVersion: number; panels: Panel[]; templating: { list: Array<{ name: string; type: string; query: unknown }> };
};
const queries = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
let exported: Map<string, ReadonlySet<string>>;

beforeAll(async () => {
  exported = await exportedSeries();
});

test('a dashboard Grafana imports: uid, title, schema version, unique panel ids, panels inside the 24-column grid', () => {
  expect(dashboard.uid).toBe('infergate');
  expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
  const ids = dashboard.panels.map((p) => p.id);
  expect(new Set(ids).size).toBe(ids.length);
  for (const p of dashboard.panels) expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
  expect(dashboard.templating.list.map((v) => v.name)).toEqual(['datasource', 'job', 'pool']);
});

test('the checker finds what it should: a parse error, an unknown metric, a missing label, an unknown kind', () => {
  expect(parsePromql('sum(rate(infergate_requests_total[5m])').errors).not.toEqual([]);
  expect(problems('rate(infergate_nope_total[5m])', exported)).toEqual(['unknown metric "infergate_nope_total"']);
  expect(problems('infergate_queue_length{backend="x"}', exported)).toEqual(['infergate_queue_length has no label backend']);
  expect(problems('infergate_errors_total{kind="queue-timout"}', exported)).toEqual(['infergate_errors_total: kind="queue-timout" is never exported']);
  expect(problems(withGrafanaVariables('rate(process_cpu_seconds_total{job=~"$job"}[$__rate_interval])'), exported)).toEqual([]);
});

test('every query parses as PromQL and names only metrics and labels infergate exports', () => {
  expect(queries.length).toBeGreaterThan(20);
  const bad = queries.map((q) => ({ ...q, problems: problems(q.expr, exported) })).filter((q) => q.problems.length > 0);
  expect(bad).toEqual([]);
});

test('the variables query exported metrics too', () => {
  for (const v of dashboard.templating.list.filter((x) => x.type === 'query')) {
    const m = /^label_values\((\w+), (\w+)\)$/.exec((v.query as { query: string }).query);
    expect(m, v.name).not.toBeNull();
    expect(exported.get(m![1]!)?.has(m![2]!), v.name).toBe(true);
  }
});

test('the panels the issue asks for are there, each reading its metric', () => {
  const reads = (title: RegExp, metric: string): void => {
    const panel = dashboard.panels.find((p) => title.test(p.title));
    expect(panel, String(title)).toBeDefined();
    expect(panel!.targets!.some((t) => t.expr.includes(metric)), `${panel!.title} reads ${metric}`).toBe(true);
  };
  reads(/^Backends by state$/, 'infergate_backend_state');
  reads(/^5xx rate by group$/, 'infergate_requests_total');
  reads(/^Request duration .* by group$/, 'infergate_request_duration_seconds_bucket');
  reads(/^Rollout weight$/, 'infergate_rollout_weight');
  reads(/^Canary check verdicts$/, 'infergate_rollout_checks_total');
  reads(/^Retries by reason$/, 'infergate_retries_total');
  reads(/^Queue length$/, 'infergate_queue_length');
  reads(/^Outlier ejections$/, 'infergate_outlier_ejections_total');
  reads(/^Time to first byte/, 'infergate_time_to_first_byte_seconds_bucket');
  reads(/^Time to first event/, 'infergate_sse_time_to_first_event_seconds_bucket');
  reads(/^Inter-event gap/, 'infergate_sse_event_gap_seconds_bucket');
});

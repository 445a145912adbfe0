// deploy/prometheus/infergate-alerts.yaml: the structure promtool checks (groups[].rules[] with alert, expr, for,
// labels, annotations; unique group names; durations), every expression parses as PromQL and names only metrics
// and labels infergate exports, and the alerts the issue asks for are there.
import { readFileSync } from 'node:fs';
import { beforeAll, expect, test } from 'vitest';
import { parse } from 'yaml';
import { exportedSeries, problems } from './promql.js';

interface Rule { alert?: string; record?: string; expr: unknown; for?: unknown; labels?: Record<string, unknown>; annotations?: Record<string, unknown> }
const text = readFileSync(new URL('../../deploy/prometheus/infergate-alerts.yaml', import.meta.url), 'utf8');
const file = parse(text) as { groups: Array<{ name: string; interval?: string; rules: Rule[] }> };
const rules = file.groups.flatMap((g) => g.rules);
let exported: Map<string, ReadonlySet<string>>;

beforeAll(async () => {
  exported = await exportedSeries();
});

/** Prometheus's model.ParseDuration: units y w d h m s ms, largest first, no fractions. */
const DURATION = /^(?:\d+y)?(?:\d+w)?(?:\d+d)?(?:\d+h)?(?:\d+m)?(?:\d+s)?(?:\d+ms)?$/;

test('the structure promtool checks', () => {
  expect(Object.keys(file)).toEqual(['groups']);
  expect(file.groups.length).toBeGreaterThan(0);
  const names = file.groups.map((g) => g.name);
  expect(new Set(names).size).toBe(names.length);
  for (const g of file.groups) {
    expect(Object.keys(g).every((k) => ['name', 'interval', 'limit', 'rules'].includes(k)), g.name).toBe(true);
    expect(Array.isArray(g.rules) && g.rules.length > 0, g.name).toBe(true);
    for (const r of g.rules) {
      const where = r.alert ?? r.record ?? '?';
      expect(Object.keys(r).every((k) => ['alert', 'record', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations'].includes(k)), where).toBe(true);
      expect(typeof r.alert === 'string' && /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(r.alert), where).toBe(true);
      expect(r.record, where).toBeUndefined();
      expect(typeof r.expr === 'string' && r.expr.trim() !== '', where).toBe(true);
      if (r.for !== undefined) expect(typeof r.for === 'string' && r.for !== '' && DURATION.test(r.for), where).toBe(true);
      for (const [k, v] of Object.entries({ ...r.labels, ...r.annotations })) {
        expect(/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(k), `${where} ${k}`).toBe(true);
        expect(typeof v, `${where} ${k}`).toBe('string');
      }
      expect(['critical', 'warning', 'info']).toContain(r.labels?.severity);
      expect(typeof r.annotations?.summary, where).toBe('string');
    }
  }
  const alerts = rules.map((r) => r.alert);
  expect(new Set(alerts).size).toBe(alerts.length);
});

test('every expression parses as PromQL and names only metrics and labels infergate exports', () => {
  const bad = rules.map((r) => ({ alert: r.alert, problems: problems(String(r.expr), exported) })).filter((r) => r.problems.length > 0);
  expect(bad).toEqual([]);
});

test('annotation templates only use $labels and $value', () => {
  for (const r of rules) {
    for (const v of Object.values(r.annotations ?? {})) {
      for (const m of String(v).matchAll(/\{\{(.*?)\}\}/g)) expect(m[1]!.trim(), r.alert).toMatch(/^\$(labels\.\w+|value)(\s*\|\s*\w+)?$/);
    }
  }
});

test('the alerts the issue asks for, each on its metric', () => {
  const expr = (alert: string): string => String(rules.find((r) => r.alert === alert)?.expr ?? '');
  expect(expr('InfergateNoReadyBackend')).toContain('infergate_backend_up');
  expect(expr('InfergateRolloutRolledBack')).toMatch(/infergate_rollout_transitions_total\{to="rolled-back"\}/);
  expect(expr('InfergateEjectionCapReached')).toContain('infergate_outlier_ejections_skipped_total');
  expect(expr('InfergateRetryBudgetExhausted')).toContain('infergate_retry_budget_exhausted_total');
  expect(expr('InfergateQueueTimeouts')).toMatch(/infergate_errors_total\{kind="queue-timeout"\}/);
});

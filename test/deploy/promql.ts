// PromQL as Prometheus parses it (@prometheus-io/lezer-promql, the Prometheus project's own grammar), and the
// metric names and labels infergate exports, for checking the dashboard and the alert rules.
import { parser } from '@prometheus-io/lezer-promql';
import { Metrics } from '../../src/observe/metrics.js';
import { Failures } from '../../src/proxy/failures.js';

export interface Selector {
  /** The metric name, or '' for a selector without one. */
  readonly name: string;
  readonly matchers: ReadonlyArray<{ readonly label: string; readonly op: string; readonly value: string }>;
}

export interface ParsedQuery {
  /** Text around each error node of the parse tree; empty when the expression is valid. */
  readonly errors: string[];
  readonly selectors: Selector[];
}

/** Grafana's interval variables stand where PromQL wants a duration: give them one before parsing. */
export function withGrafanaVariables(expr: string): string {
  return expr.replaceAll('$__rate_interval', '5m').replaceAll('$__interval', '1m').replaceAll('$__range', '1h');
}

export function parsePromql(expr: string): ParsedQuery {
  const tree = parser.parse(expr);
  const errors: string[] = [];
  const selectors: Selector[] = [];
  tree.iterate({
    enter(node) {
      if (node.type.isError) errors.push(`at ${node.from}: ${JSON.stringify(expr.slice(Math.max(0, node.from - 20), node.to + 20))}`);
      if (node.name !== 'VectorSelector') return;
      const n = node.node;
      const id = n.getChild('Identifier');
      const matchers: Array<{ label: string; op: string; value: string }> = [];
      for (const m of n.getChild('LabelMatchers')?.getChildren('UnquotedLabelMatcher') ?? []) {
        const label = m.getChild('LabelName');
        const op = m.getChild('MatchOp');
        const value = m.getChild('StringLiteral');
        if (label === null || op === null || value === null) continue;
        matchers.push({ label: expr.slice(label.from, label.to), op: expr.slice(op.from, op.to), value: JSON.parse(expr.slice(value.from, value.to).replace(/^'|'$/g, '"')) as string });
      }
      selectors.push({ name: id === null ? '' : expr.slice(id.from, id.to), matchers });
    },
  });
  return { errors, selectors };
}

/** Every series name infergate exports (histogram and summary series expanded), with its label names. */
export async function exportedSeries(): Promise<Map<string, ReadonlySet<string>>> {
  const metrics = new Metrics('test'); // with Node's default process metrics, as the app runs
  metrics.coordinationStats(); // made only with `coordination` configured
  const out = new Map<string, ReadonlySet<string>>();
  const scrapeLabels = ['job', 'instance'];
  for (const m of await metrics.registry.getMetricsAsJSON()) {
    const metric = metrics.registry.getSingleMetric(m.name) as unknown as { labelNames?: string[] };
    const labels = [...(metric.labelNames ?? []), ...scrapeLabels];
    const type = String(m.type);
    if (type === 'histogram') {
      out.set(`${m.name}_bucket`, new Set([...labels, 'le']));
      out.set(`${m.name}_sum`, new Set(labels));
      out.set(`${m.name}_count`, new Set(labels));
    } else if (type === 'summary') {
      out.set(m.name, new Set([...labels, 'quantile']));
      out.set(`${m.name}_sum`, new Set(labels));
      out.set(`${m.name}_count`, new Set(labels));
    } else out.set(m.name, new Set(labels));
  }
  return out;
}

/** The values a label can take, where infergate defines them in one table. */
export const KNOWN_VALUES: Readonly<Record<string, ReadonlySet<string>>> = {
  kind: new Set(Object.values(Failures).map((f) => f.code)),
  code: new Set(['1xx', '2xx', '3xx', '4xx', '5xx']),
  to: new Set(['pending', 'progressing', 'paused', 'promoted', 'rolled-back']),
  verdict: new Set(['pass', 'fail', 'inconclusive']),
};

/** What is wrong with one expression: parse errors, unknown metric names, labels a metric does not have, unknown values. */
export function problems(expr: string, exported: Map<string, ReadonlySet<string>>): string[] {
  const q = parsePromql(withGrafanaVariables(expr));
  const out = q.errors.map((e) => `parse error ${e}`);
  if (q.selectors.length === 0) out.push('no metric selector');
  for (const s of q.selectors) {
    const labels = exported.get(s.name);
    if (labels === undefined) {
      out.push(`unknown metric ${JSON.stringify(s.name)}`);
      continue;
    }
    for (const m of s.matchers) {
      if (!labels.has(m.label)) out.push(`${s.name} has no label ${m.label}`);
      const known = KNOWN_VALUES[m.label];
      if (known === undefined || m.value.includes('$')) continue;
      const values = m.op === '=' ? [m.value] : m.op === '=~' && /^[\w|-]+$/.test(m.value) ? m.value.split('|') : [];
      for (const v of values) if (!known.has(v)) out.push(`${s.name}: ${m.label}="${v}" is never exported`);
    }
  }
  return out;
}

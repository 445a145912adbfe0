// A `helm template` equivalent for the subset of Go template syntax that deploy/helm/infergate uses, so
// `npm test` renders the chart without the helm binary. Anything outside the subset throws (it never
// renders silently wrong), so a template that grows past it fails the tests until this grows too.
//
// The subset:
//   {{ PIPELINE }}                  output; `{{-` trims whitespace (newlines included) before, `-}}` after
//   {{/* comment */}}               nothing
//   {{ if PIPELINE }} … {{ else }} … {{ end }}   Go truthiness: false, 0, nil, "" and empty lists/maps are false
//   PIPELINE = TERM (| FUNC ARG*)*, TERM = .Values.a.b | .Release.Name | .Release.Namespace | .Chart.Name |
//              .Chart.Version | .Chart.AppVersion | "string" | integer | FUNC ARG* (first command only)
//   FUNC = quote | toYaml | nindent N | indent N | default VALUE
// Helm semantics followed: a missing value renders as "<no value>" (as Go's text/template does), toYaml
// leaves no trailing newline, nindent prepends a newline, the rendered files are split on `---` lines and
// files rendering to only whitespace are dropped; templates named _*.tpl or not ending in .yaml are skipped.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';

export interface RenderContext {
  Values: unknown;
  Release: { Name: string; Namespace: string; Service: string };
  Chart: { Name: string; Version: string; AppVersion: string };
}

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'output'; pipeline: string }
  | { kind: 'if'; pipeline: string; then: Node[]; otherwise: Node[] };

const ACTION = /\{\{(-\s)?([\s\S]*?)(\s-)?\}\}/g;

/** Lexes a template into text and action pieces, applying `{{-` / `-}}` trimming. */
function lex(src: string): Array<{ text: string } | { action: string }> {
  const out: Array<{ text: string } | { action: string }> = [];
  let last = 0;
  let trimNext = false;
  for (const m of src.matchAll(ACTION)) {
    let text = src.slice(last, m.index);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (m[1]) text = text.replace(/\s+$/, '');
    out.push({ text });
    out.push({ action: (m[2] ?? '').trim() });
    trimNext = Boolean(m[3]);
    last = m.index + m[0].length;
  }
  let rest = src.slice(last);
  if (trimNext) rest = rest.replace(/^\s+/, '');
  out.push({ text: rest });
  return out;
}

function parseNodes(src: string): Node[] {
  const pieces = lex(src);
  let i = 0;
  const block = (terminators: string[]): { nodes: Node[]; end: string; action: string } => {
    const nodes: Node[] = [];
    while (i < pieces.length) {
      const p = pieces[i++]!;
      if ('text' in p) {
        if (p.text !== '') nodes.push({ kind: 'text', text: p.text });
        continue;
      }
      const a = p.action;
      if (a.startsWith('/*')) {
        if (!a.endsWith('*/')) throw new Error(`unterminated comment: {{${a}}}`);
        continue;
      }
      const word = a.split(/\s+/)[0] ?? '';
      if (terminators.includes(word)) return { nodes, end: word, action: a };
      if (word === 'if') {
        const thenPart = block(['else', 'end']);
        let otherwise: Node[] = [];
        if (thenPart.end === 'else') {
          if (thenPart.action !== 'else') throw new Error(`{{ ${thenPart.action} }} is outside the supported subset`);
          otherwise = block(['end']).nodes;
        }
        nodes.push({ kind: 'if', pipeline: a.slice(2).trim(), then: thenPart.nodes, otherwise });
        continue;
      }
      if (['else', 'end', 'range', 'with', 'define', 'template', 'block', 'include'].includes(word)) {
        throw new Error(`{{ ${a} }} is outside the supported subset`);
      }
      nodes.push({ kind: 'output', pipeline: a });
    }
    if (terminators.length > 0) throw new Error(`missing {{ ${terminators.join(' / ')} }}`);
    return { nodes, end: '', action: '' };
  };
  return block([]).nodes;
}

/** Splits a pipeline into commands and each command into words, keeping "quoted strings" whole. */
function commands(pipeline: string): string[][] {
  const words = pipeline.match(/"(?:[^"\\]|\\.)*"|\||[^\s|]+/g) ?? [];
  const out: string[][] = [[]];
  for (const w of words) {
    if (w === '|') out.push([]);
    else out[out.length - 1]!.push(w);
  }
  if (out.some((c) => c.length === 0)) throw new Error(`empty command in pipeline: ${pipeline}`);
  return out;
}

const NO_VALUE = Symbol('no value');

function lookup(ctx: RenderContext, word: string): unknown {
  if (word.startsWith('"')) return JSON.parse(word) as string;
  if (/^-?\d+$/.test(word)) return Number(word);
  if (word === 'true' || word === 'false') return word === 'true';
  if (!word.startsWith('.')) throw new Error(`unsupported argument: ${word}`);
  const [root, ...path] = word.slice(1).split('.');
  if (root !== 'Values' && root !== 'Release' && root !== 'Chart') throw new Error(`unsupported field: ${word}`);
  let v: unknown = ctx[root];
  for (const key of path) {
    if (v === null || typeof v !== 'object' || !(key in v)) return NO_VALUE;
    v = (v as Record<string, unknown>)[key];
  }
  return v === null ? NO_VALUE : v;
}

function truthy(v: unknown): boolean {
  if (v === NO_VALUE || v === false || v === 0 || v === '' || v === null || v === undefined) return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

function text(v: unknown): string {
  if (v === NO_VALUE) return '<no value>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  // Go prints maps and slices as map[...] / [...]: never what a manifest wants, so refuse.
  throw new Error(`cannot print a ${Array.isArray(v) ? 'list' : 'map'} directly (use toYaml)`);
}

function indentBy(n: unknown, s: string): string {
  if (typeof n !== 'number') throw new Error('indent/nindent need a number');
  const pad = ' '.repeat(n);
  return s
    .split('\n')
    .map((line) => pad + line)
    .join('\n');
}

function call(fn: string, args: unknown[], piped: unknown, hasPiped: boolean): unknown {
  const all = hasPiped ? [...args, piped] : args;
  const want = (n: number): void => {
    if (all.length !== n) throw new Error(`${fn} takes ${n} argument(s), got ${all.length}`);
  };
  switch (fn) {
    case 'quote':
      want(1);
      return JSON.stringify(all[0] === NO_VALUE ? '' : text(all[0]));
    case 'toYaml':
      want(1);
      return all[0] === NO_VALUE ? 'null' : stringify(all[0]).replace(/\n$/, '');
    case 'indent':
      want(2);
      return indentBy(all[0], text(all[1]));
    case 'nindent':
      want(2);
      return '\n' + indentBy(all[0], text(all[1]));
    case 'default':
      want(2);
      return truthy(all[1]) ? all[1] : all[0];
    default:
      throw new Error(`function ${fn} is outside the supported subset`);
  }
}

function evaluate(ctx: RenderContext, pipeline: string): unknown {
  let value: unknown;
  commands(pipeline).forEach((cmd, n) => {
    const [head, ...rest] = cmd as [string, ...string[]];
    if (head.startsWith('.') || head.startsWith('"') || /^-?\d+$/.test(head)) {
      value = lookup(ctx, head);
      if (n > 0 || rest.length > 0) throw new Error(`a value cannot take arguments: ${pipeline}`);
    } else {
      value = call(head, rest.map((w) => lookup(ctx, w)), value, n > 0);
    }
  });
  return value;
}

function run(ctx: RenderContext, nodes: Node[]): string {
  return nodes
    .map((node) => {
      if (node.kind === 'text') return node.text;
      if (node.kind === 'output') return text(evaluate(ctx, node.pipeline));
      return run(ctx, truthy(evaluate(ctx, node.pipeline)) ? node.then : node.otherwise);
    })
    .join('');
}

export function renderTemplate(src: string, ctx: RenderContext): string {
  return run(ctx, parseNodes(src));
}

/** Deep merge as Helm does for --set / -f over values.yaml: maps merge, everything else replaces. */
function merge(base: unknown, over: unknown): unknown {
  if (base && over && typeof base === 'object' && typeof over === 'object' && !Array.isArray(base) && !Array.isArray(over)) {
    const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
    for (const [k, v] of Object.entries(over)) out[k] = merge(out[k], v);
    return out;
  }
  return over === undefined ? base : over;
}

export interface RenderedFile {
  template: string;
  source: string;
  documents: unknown[];
}

/** `helm template NAME CHART [-f overrides]`: every template rendered and parsed into its YAML documents. */
export function renderChart(chartDir: string, release: { name: string; namespace?: string }, overrides: unknown = {}): RenderedFile[] {
  const chart = parse(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')) as { name: string; version: string; appVersion?: string };
  const values = merge(parse(readFileSync(join(chartDir, 'values.yaml'), 'utf8')), overrides);
  const ctx: RenderContext = {
    Values: values,
    Release: { Name: release.name, Namespace: release.namespace ?? 'default', Service: 'Helm' },
    Chart: { Name: chart.name, Version: chart.version, AppVersion: chart.appVersion ?? '' },
  };
  const dir = join(chartDir, 'templates');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') && !f.startsWith('_'))
    .sort()
    .map((template) => {
      const source = renderTemplate(readFileSync(join(dir, template), 'utf8'), ctx);
      if (source.includes('<no value>')) throw new Error(`${template}: a value is missing (rendered <no value>)`);
      const documents = source
        .split(/^---\s*$/m)
        .filter((d) => d.trim() !== '')
        .map((d) => parse(d) as unknown)
        .filter((d) => d !== null);
      return { template, source, documents };
    });
}

// Turns a path in the config tree into a 1-based line/column of the YAML source.

import { isCollection, isMap, isScalar, type Document, type LineCounter, type Node } from 'yaml';
import { formatPath, type ConfigError, type PathIssue } from './errors.js';

function nodeStart(node: unknown): number | null {
  // An empty value (`key:` and nothing after it) has an empty range at the line's end: not useful.
  if (isScalar(node) && node.value === null && node.range && node.range[0] === node.range[1]) return null;
  if (node && typeof node === 'object' && 'range' in node) {
    const range = (node as Node).range;
    if (range) return range[0];
  }
  return null;
}

function keyNode(doc: Document, path: readonly PropertyKey[]): unknown {
  const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
  const last = path[path.length - 1];
  if (!isMap(parent)) return null;
  const pair = parent.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(last));
  return pair?.key ?? null;
}

/** Source offset of the value at `path` (or its key), falling back to the nearest existing ancestor. */
export function offsetOf(doc: Document, path: readonly PropertyKey[], atKey = false): number {
  if (atKey && path.length > 0) {
    const at = nodeStart(keyNode(doc, path));
    if (at !== null) return at;
  }
  for (let n = path.length; n > 0; n--) {
    const sub = path.slice(0, n);
    const node = doc.getIn(sub, true);
    // A missing or empty value: point at its key.
    const at = nodeStart(node) ?? nodeStart(keyNode(doc, sub));
    if (at !== null) return at;
  }
  return isCollection(doc.contents) ? (nodeStart(doc.contents) ?? 0) : 0;
}

export function toConfigError(doc: Document, lines: LineCounter, file: string, issue: PathIssue): ConfigError {
  const offset = issue.offset ?? offsetOf(doc, issue.path, issue.atKey ?? false);
  const { line, col } = lines.linePos(offset);
  const where = issue.label ?? issue.path;
  return { file, line, col, message: where.length === 0 ? issue.message : `${formatPath(where)}: ${issue.message}` };
}

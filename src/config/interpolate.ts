// `${VAR}` / `${VAR:-default}` substitution in the string values of a parsed YAML document, in place.

import { isMap, isScalar, isSeq, type Document, type Node } from 'yaml';
import type { PathIssue } from './errors.js';

export type Env = Record<string, string | undefined>;

const reference = /\$\$\{|\$\{([^}]*)\}|\$\{/g;
const varName = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Expand one string; `$${` is a literal `${`. Returns the text or a message saying what is wrong. */
export function interpolateString(text: string, env: Env): { ok: true; value: string } | { ok: false; message: string } {
  let problem: string | null = null;
  const value = text.replace(reference, (whole, body: string | undefined) => {
    if (whole === '$${') return '${';
    if (body === undefined) {
      problem ??= `unclosed "\${" (write "$\${" for a literal "\${")`;
      return whole;
    }
    const sep = body.indexOf(':-');
    const name = sep === -1 ? body : body.slice(0, sep);
    if (!varName.test(name)) {
      problem ??= `invalid variable reference "${whole}" (use \${NAME} or \${NAME:-default})`;
      return whole;
    }
    const set = env[name];
    if (sep !== -1) return set === undefined || set === '' ? body.slice(sep + 2) : set;
    if (set === undefined) {
      problem ??= `environment variable ${name} is not set (use \${${name}:-default} to give a default)`;
      return whole;
    }
    return set;
  });
  return problem === null ? { ok: true, value } : { ok: false, message: problem };
}

/** Unquoted values are typed by what they expand to (port: ${PORT} is a number), as if the text were written there. */
function retype(value: string): string | number | boolean {
  if (/^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  if (value === 'true') return true;
  if (value === 'false') return false;
  return value;
}

/** Expands every string value (not keys) of the document; returns the problems with their paths. */
export function interpolateDocument(doc: Document, env: Env): PathIssue[] {
  const issues: PathIssue[] = [];
  const walk = (node: unknown, path: PropertyKey[]): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? pair.key.value : pair.key;
        walk(pair.value, [...path, typeof key === 'number' ? String(key) : (key as PropertyKey)]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => walk(item, [...path, i]));
    } else if (isScalar(node) && typeof node.value === 'string' && node.value.includes('${')) {
      const r = interpolateString(node.value, env);
      if (!r.ok) issues.push({ path, message: r.message, ...(node.range ? { offset: node.range[0] } : {}) });
      else node.value = node.type === 'PLAIN' ? retype(r.value) : r.value;
    }
  };
  walk(doc.contents as Node | null, []);
  return issues;
}

// Config errors: the `file:line:col: message` shape, zod-issue wording, and did-you-mean hints.

import type * as z from 'zod';

export interface ConfigError {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  col: number;
  message: string;
}

/** A problem found before positions are known: where (a path in the YAML tree) and what. */
export interface PathIssue {
  path: PropertyKey[];
  message: string;
  /** Point at the key of the last path segment instead of its value (unknown keys). */
  atKey?: boolean;
  /** Exact source offset, when the node is already known (interpolation). */
  offset?: number;
  /** Path shown in the message when it differs from `path` (unknown keys name their parent). */
  label?: PropertyKey[];
}

/** One error per line, sorted by position, as `file:LINE:COL: message`. */
export function formatErrors(errors: ConfigError[]): string {
  return sortErrors(errors)
    .map((e) => `${e.file}:${e.line}:${e.col}: ${e.message}`)
    .join('\n');
}

export function sortErrors(errors: ConfigError[]): ConfigError[] {
  return [...errors].sort(
    (a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col || a.message.localeCompare(b.message),
  );
}

/** `pools.mlp.backends[0].url` */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out === '' ? '(root)' : out;
}

export function levenshtein(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

/** The closest candidate within a small edit distance, or null. */
export function closest(word: string, candidates: Iterable<string>): string | null {
  const limit = word.length <= 4 ? 1 : word.length <= 8 ? 2 : 3;
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = levenshtein(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return bestDistance <= limit ? best : null;
}

export function didYouMean(word: string, candidates: Iterable<string>): string {
  const c = closest(word, candidates);
  return c === null ? '' : `, did you mean '${c}'?`;
}

/** Short, quoted rendering of a bad input for messages. */
export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'a list';
  return 'a mapping';
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `string ${show(value)}`;
  return `${typeof value} ${show(value)}`;
}

const expectedNames: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  record: 'a mapping',
};

/** Human wording for zod's built-in issues; passed to safeParse so schema-level messages still win. */
export const issueMessage: z.core.$ZodErrorMap = (iss) => {
  switch (iss.code) {
    case 'invalid_type': {
      if (iss.input === undefined) return 'is required';
      const want = expectedNames[iss.expected] ?? iss.expected;
      const hint = iss.expected === 'string' && (typeof iss.input === 'number' || typeof iss.input === 'boolean') ? ' (quote the value)' : '';
      return `expected ${want}, got ${kindOf(iss.input)}${hint}`;
    }
    case 'too_small': {
      const min = Number(iss.minimum);
      if (iss.origin === 'array') return `needs at least ${min} item${min === 1 ? '' : 's'}`;
      if (iss.origin === 'string') return min === 1 ? 'must not be empty' : `must be at least ${min} characters`;
      return `must be ${iss.inclusive ? '>=' : '>'} ${min} (got ${show(iss.input)})`;
    }
    case 'too_big': {
      const max = Number(iss.maximum);
      if (iss.origin === 'array') return `allows at most ${max} items`;
      if (iss.origin === 'string') return `must be at most ${max} characters`;
      return `must be ${iss.inclusive ? '<=' : '<'} ${max} (got ${show(iss.input)})`;
    }
    case 'invalid_value': {
      const options = iss.values.map(String);
      const got = typeof iss.input === 'string' ? didYouMean(iss.input, options) : '';
      return `must be one of ${options.join(', ')} (got ${show(iss.input)})${got}`;
    }
    case 'invalid_format':
      if (iss.format === 'starts_with' && 'prefix' in iss) return `must start with "${String(iss.prefix)}" (got ${show(iss.input)})`;
      return `invalid format ${show(iss.input)}`;
    case 'invalid_key':
      return `invalid name ${show(iss.input)}`;
    default:
      return undefined;
  }
};

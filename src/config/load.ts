// Public entry: YAML text or file -> normalised Config, or every error with its file:line:col.

import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument, type YAMLError } from 'yaml';
import { crossChecks } from './checks.js';
import { formatPath, issueMessage, sortErrors, type ConfigError, type PathIssue } from './errors.js';
import { interpolateDocument, type Env } from './interpolate.js';
import { flattenIssues } from './issues.js';
import { toConfigError } from './locate.js';
import { normalise } from './normalise.js';
import { configSchema } from './schema.js';
import type { Config } from './types.js';

export type { ConfigError } from './errors.js';
export { formatErrors } from './errors.js';

export type LoadResult = { ok: true; config: Config } | { ok: false; errors: ConfigError[] };

function dedupe(errors: ConfigError[]): ConfigError[] {
  const seen = new Set<string>();
  return sortErrors(errors).filter((e) => {
    const key = `${e.line}:${e.col}:${e.message}`;
    return seen.has(key) ? false : (seen.add(key), true);
  });
}

/** Only the first syntax error is reliable (later ones cascade from it); duplicate keys are independent, so keep them all. */
function syntaxErrors(found: readonly YAMLError[], text: string, lines: LineCounter, file: string): ConfigError[] {
  const first = found.find((e) => e.code !== 'DUPLICATE_KEY');
  const kept = found.filter((e) => e.code === 'DUPLICATE_KEY' || e === first);
  return dedupe(
    kept.map((e): ConfigError => {
      const { line, col } = lines.linePos(e.pos[0]);
      const source = text.split('\n')[line - 1] ?? '';
      // `{` and `}` are flow indicators, so an unquoted ${VAR} inside { } or [ ] breaks the YAML itself.
      const hint = source.includes('${') ? ' (quote values containing ${...} inside { } or [ ])' : '';
      const what = e.code === 'MULTIPLE_DOCS' ? 'the file must hold a single YAML document (remove the extra ---)' : (e.message.split('\n')[0] ?? e.message);
      return { file, line, col, message: `YAML: ${what}${hint}` };
    }),
  );
}

export function parseConfig(text: string, file: string, env: Env = process.env): LoadResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) return { ok: false, errors: syntaxErrors(doc.errors, text, lines, file) };

  const issues: PathIssue[] = interpolateDocument(doc, env);
  // An empty file is an empty mapping: the schema then says what is missing.
  let raw: unknown;
  try {
    raw = doc.toJS() ?? {};
  } catch (err) {
    // Only alias bombs get here: the YAML itself parsed.
    return { ok: false, errors: [{ file, line: 1, col: 1, message: `YAML: ${(err as Error).message}` }] };
  }
  const result = configSchema.safeParse(raw, { error: issueMessage });
  const later = result.success ? [] : flattenIssues(configSchema, result.error.issues);
  later.push(...crossChecks(raw, file));
  // A value whose ${VAR} failed is still the raw text: say only why the substitution failed.
  const failed = new Set(issues.map((i) => formatPath(i.path)));
  issues.push(...later.filter((i) => !failed.has(formatPath(i.path))));

  if (issues.length > 0 || !result.success) {
    return { ok: false, errors: dedupe(issues.map((i) => toConfigError(doc, lines, file, i))) };
  }
  return { ok: true, config: normalise(result.data, file) };
}

export async function loadConfigFile(file: string, env: Env = process.env): Promise<LoadResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    return { ok: false, errors: [{ file, line: 1, col: 1, message: (err as Error).message }] };
  }
  return parseConfig(text, file, env);
}

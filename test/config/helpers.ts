// Small helpers shared by the config tests: parse YAML text and get either the Config or the error lines.

import { formatErrors, parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';

export function ok(text: string, env: Record<string, string | undefined> = {}): Config {
  const r = parseConfig(text, 'test.yaml', env);
  if (!r.ok) throw new Error(`expected a valid config, got:\n${formatErrors(r.errors)}`);
  return r.config;
}

/** The formatted `file:line:col: message` lines of an invalid config. */
export function errors(text: string, env: Record<string, string | undefined> = {}): string[] {
  const r = parseConfig(text, 'test.yaml', env);
  if (r.ok) throw new Error('expected errors, the config was valid');
  return formatErrors(r.errors).split('\n');
}

/** Join lines so YAML in tests stays readable without template-literal indentation. */
export const yaml = (...lines: string[]): string => `${lines.join('\n')}\n`;

export const onePool = yaml('pools:', '  p:', '    backends: [http://127.0.0.1:9101]');

// `workers`: 1 by default (one process, as before), a number, or auto (one per core the process may use).
import { availableParallelism } from 'node:os';
import { expect, test } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { workerCount } from '../../src/workers/run.js';

const pool = 'pools:\n  p:\n    backends: [http://127.0.0.1:9101]\n';

test.each([
  ['', 1],
  ['workers: 1\n', 1],
  ['workers: 4\n', 4],
  ['workers: auto\n', availableParallelism()],
])('%j -> %i worker process(es)', (line, n) => {
  const r = parseConfig(line + pool, 'c.yaml', {});
  expect(r.ok && workerCount(r.config)).toBe(n);
});

test.each(['workers: 0\n', 'workers: many\n', 'workers: 1.5\n'])('%j is an error at its position', (line) => {
  const r = parseConfig(line + pool, 'c.yaml', {});
  expect(r.ok).toBe(false);
  if (!r.ok) expect(`${r.errors[0]!.line}:${r.errors[0]!.col} ${r.errors[0]!.message}`).toMatch(/^1:10 workers: /);
});

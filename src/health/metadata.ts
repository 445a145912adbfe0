// Model admission: read values out of a backend's metadata JSON and compare them with the configured model.
import type { ModelFacts, ModelSpec } from './presets/types.js';

/**
 * RFC 6901 JSON Pointer: "" is the whole document, "/a/0/b~1c" walks object keys and array indices
 * (`~1` is "/", `~0` is "~"). Anything missing, malformed or not reachable gives undefined.
 */
export function readPointer(doc: unknown, pointer: string): unknown {
  if (pointer === '') return doc;
  if (!pointer.startsWith('/')) return undefined;
  let node: unknown = doc;
  for (const raw of pointer.slice(1).split('/')) {
    // Order matters (RFC 6901 section 4): "~01" means "~1", not "/".
    const token = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (Array.isArray(node)) {
      // Leading zeros and "-" (one past the end) never name an existing element.
      if (!/^(0|[1-9][0-9]*)$/.test(token)) return undefined;
      node = node[Number(token)];
    } else if (node !== null && typeof node === 'object') {
      if (!Object.hasOwn(node, token)) return undefined;
      node = (node as Record<string, unknown>)[token];
    } else {
      return undefined;
    }
    if (node === undefined) return undefined;
  }
  return node;
}

/** A scalar read as text (versions are often JSON numbers), or null for anything else. */
export function scalarText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return null;
}

function firstText(doc: unknown, pointers: readonly string[]): string | null {
  for (const p of pointers) {
    const text = scalarText(readPointer(doc, p));
    if (text !== null) return text;
  }
  return null;
}

export interface FactPointers {
  /** Default "/name". */
  namePointer?: string;
  /** Default "/version". */
  versionPointer?: string;
  /** Default: "/md5", then "/parameters/md5". */
  checksumPointer?: string;
}

/** Facts from any JSON document, for the `http` preset and for operator overrides of a preset's metadata. */
export function factsFromPointers(doc: unknown, opts: FactPointers = {}): ModelFacts {
  return {
    name: firstText(doc, [opts.namePointer ?? '/name']),
    version: firstText(doc, [opts.versionPointer ?? '/version']),
    checksum: firstText(doc, opts.checksumPointer !== undefined ? [opts.checksumPointer] : ['/md5', '/parameters/md5']),
    raw: doc,
  };
}

export interface Mismatch {
  field: 'name' | 'version' | 'md5';
  expected: string;
  found: string | null;
}

export type Admission = { ok: true } | { ok: false; mismatches: Mismatch[] };

/**
 * Compare only the configured fields. Names and versions compare as exact strings ("2" is not "2.0"),
 * checksums case-insensitively. A preset reporting several versions has already put the matching one
 * in `facts.version` (see ModelFacts), so a plain comparison is right here too.
 */
export function admit(expected: ModelSpec, facts: ModelFacts): Admission {
  const mismatches: Mismatch[] = [];
  if (expected.name !== null && facts.name !== expected.name) {
    mismatches.push({ field: 'name', expected: expected.name, found: facts.name });
  }
  if (expected.version !== null && facts.version !== expected.version) {
    mismatches.push({ field: 'version', expected: expected.version, found: facts.version });
  }
  if (expected.md5 !== null && facts.checksum?.toLowerCase() !== expected.md5.toLowerCase()) {
    mismatches.push({ field: 'md5', expected: expected.md5, found: facts.checksum });
  }
  return mismatches.length === 0 ? { ok: true } : { ok: false, mismatches };
}

/** One line per mismatch, for logs and the MISMATCH state reason. */
export function describeMismatches(mismatches: readonly Mismatch[]): string {
  return mismatches.map((m) => `${m.field}: expected ${JSON.stringify(m.expected)}, found ${m.found === null ? 'nothing' : JSON.stringify(m.found)}`).join('; ');
}

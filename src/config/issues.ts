// Flattens zod issues into path-addressed problems: one per unknown key, unions resolved to the branch that fits.

import * as z from 'zod';
import { didYouMean, type PathIssue } from './errors.js';

function unwrap(node: z.ZodType): z.ZodType {
  let n = node;
  for (;;) {
    if (n instanceof z.ZodOptional || n instanceof z.ZodNullable || n instanceof z.ZodDefault || n instanceof z.ZodPrefault) n = n.unwrap() as z.ZodType;
    else if (n instanceof z.ZodPipe) n = n.in as z.ZodType;
    else return n;
  }
}

/** For a key written at the wrong level: the nearest nested section that has it, e.g. "health.readiness" for "interval". */
export function whereKeyBelongs(schema: z.ZodType, path: readonly PropertyKey[], key: string): string | null {
  const start = objectAt(schema, path);
  let frontier: Array<[string, z.ZodObject]> = start ? [['', start]] : [];
  // Every place below this one (3 levels deep) that has the key, nearest first: `interval` alone has several.
  const homes: string[] = [];
  for (let depth = 0; depth < 3 && frontier.length > 0; depth++) {
    const next: Array<[string, z.ZodObject]> = [];
    for (const [prefix, obj] of frontier) {
      for (const [k, child] of Object.entries(obj.shape as Record<string, z.ZodType>)) {
        let inner = unwrap(child);
        if (inner instanceof z.ZodUnion) inner = unwrap((inner.options as z.ZodType[]).find((o) => unwrap(o) instanceof z.ZodObject) ?? inner);
        if (!(inner instanceof z.ZodObject)) continue;
        const here = `${prefix}${k}`;
        if (Object.hasOwn(inner.shape, key)) homes.push(here);
        next.push([`${here}.`, inner]);
      }
    }
    frontier = next;
  }
  if (homes.length === 0) return null;
  if (homes.length === 1) return homes[0]!;
  const shown = homes.slice(0, 4);
  return `one of ${shown.join(', ')}${homes.length > shown.length ? ', …' : ''}`;
}

function objectAt(schema: z.ZodType, path: readonly PropertyKey[]): z.ZodObject | null {
  let node: z.ZodType | undefined = schema;
  let i = 0;
  while (node) {
    node = unwrap(node);
    if (node instanceof z.ZodUnion) node = (node.options as z.ZodType[]).find((o) => o instanceof z.ZodObject);
    else if (i === path.length) return node instanceof z.ZodObject ? node : null;
    else if (node instanceof z.ZodObject) node = (node.shape as Record<string, z.ZodType>)[String(path[i++])];
    else if (node instanceof z.ZodRecord || node instanceof z.ZodArray) {
      node = (node instanceof z.ZodRecord ? node.valueType : node.element) as z.ZodType;
      i++;
    } else return null;
  }
  return null;
}

/** Keys the schema allows for the object found at `path`, or [] when that is not an object. */
export function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  const obj = objectAt(schema, path);
  return obj ? Object.keys(obj.shape) : [];
}

/** nginx words people bring along, and what infergate calls them (README: Migrating from nginx). */
const NGINX_WORDS: Readonly<Record<string, string>> = {
  upstream: "a pool: pools.<name> with backends (or groups)",
  server: "a backend: an entry of backends, e.g. { url: http://10.0.0.11:8000, weight: 2 }",
  least_conn: "balance: least-request",
  max_fails: "outlier.consecutive5xx / outlier.consecutiveGatewayErrors (passive), and health.readiness (active)",
  fail_timeout: "outlier.baseEjectionTime",
  proxy_next_upstream: "retry: { attempts, methods, onStatus, nonIdempotent }",
  proxy_next_upstream_tries: "retry.attempts",
  proxy_connect_timeout: "timeouts.connect",
  proxy_read_timeout: "timeouts.firstByte (to the response head) and timeouts.idle (between body chunks)",
  proxy_send_timeout: "timeouts.idle",
  read: "timeouts.firstByte (to the response head) and timeouts.idle (between body chunks)",
  keepalive: "upstream.connections and upstream.keepAlive",
  keepalive_timeout: "upstream.keepAlive (to backends) or server.keepAliveTimeout (to clients)",
  split_clients: "groups with weights, and sticky: { header | cookie | query } for stable assignment",
  client_max_body_size: "maxBodySize",
  slow_start: "slowStart",
};

function unknownKeyMessage(schema: z.ZodType, path: readonly PropertyKey[], key: string): string {
  const nginx = NGINX_WORDS[key];
  if (nginx !== undefined) return `unknown key '${key}' (nginx's word; in infergate: ${nginx})`;
  const hint = didYouMean(key, knownKeysAt(schema, path));
  if (hint !== '') return `unknown key '${key}'${hint}`;
  const home = whereKeyBelongs(schema, path, key);
  return home === null ? `unknown key '${key}'` : `unknown key '${key}' (it belongs under ${home})`;
}

/** True when the branch failed only because the value had the wrong type altogether. */
function isTypeMismatch(branch: readonly z.core.$ZodIssue[]): boolean {
  return branch.every((i) => i.path.length === 0 && i.code === 'invalid_type');
}

export function flattenIssues(schema: z.ZodType, issues: readonly z.core.$ZodIssue[], base: PropertyKey[] = []): PathIssue[] {
  const out: PathIssue[] = [];
  for (const issue of issues) {
    const path = [...base, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        out.push({ path: [...path, key], label: path, atKey: true, message: unknownKeyMessage(schema, path, key) });
      }
    } else if (issue.code === 'invalid_union') {
      const fitting = issue.errors.filter((b) => !isTypeMismatch(b));
      const only = fitting[0];
      if (fitting.length === 1 && only) out.push(...flattenIssues(schema, only, path));
      else out.push({ path, message: issue.message });
    } else if (issue.code === 'invalid_key' && issue.origin === 'record') {
      out.push({ path, atKey: true, message: issue.issues[0]?.message ?? issue.message });
    } else {
      out.push({ path, message: issue.message });
    }
  }
  return out;
}

// Which group (stable, canary, ...) a request is meant for: pin header, else sticky hash, else weighted random.
import type { PinConfig, StickyConfig } from '../config/types.js';
import { avalanche } from '../hash.js';

/** A group of a pool as routing sees it: a name and a share of the traffic (a rollout changes it live). */
export interface Group {
  readonly name: string;
  weight: number;
}

/** Why a group was chosen (logged): the pool's only group, a weighted draw, the user's sticky hash, a pin header. */
export type ChoiceReason = 'single' | 'weighted' | 'sticky' | 'pin';

/** The group a request is meant for; a pinned request (tester header) never falls back to another group. */
export interface GroupChoice<G extends Group = Group> {
  readonly group: G;
  readonly pinned: boolean;
  readonly reason: ChoiceReason;
}

/** What group choice reads of a request. */
export interface RequestKeys {
  readonly headers: Record<string, string | string[] | undefined>;
  readonly url?: string | undefined;
}

/**
 * Groups are laid out on [0, total) in a fixed order — groups with a rollout first — so a user's point
 * (a hash of their key) falls in the canary range at 10% and still does at 25%: raising the canary's
 * weight only moves users into it, never out.
 */
export class GroupSelector<G extends Group> {
  readonly #groups: readonly G[];
  readonly #ordered: readonly G[];
  readonly #byName: ReadonlyMap<string, G>;
  readonly #sticky: StickyConfig | null;
  readonly #pin: PinConfig | null;
  readonly #random: () => number;
  readonly #single: GroupChoice<G> | null;

  constructor(groups: readonly G[], rolloutGroups: ReadonlySet<string>, sticky: StickyConfig | null, pin: PinConfig | null, random: () => number) {
    this.#groups = groups;
    this.#ordered = [...groups.filter((g) => rolloutGroups.has(g.name)), ...groups.filter((g) => !rolloutGroups.has(g.name))];
    this.#byName = new Map(groups.map((g) => [g.name, g]));
    this.#sticky = sticky;
    this.#pin = pin;
    this.#random = random;
    this.#single = groups.length === 1 ? { group: groups[0]!, pinned: false, reason: 'single' } : null;
  }

  choose(req: RequestKeys): GroupChoice<G> {
    if (this.#single !== null) return this.#single;
    const pin = this.#pin;
    if (pin !== null) {
      const value = req.headers[pin.header];
      if (typeof value === 'string' && pin.allow.has(value)) return { group: this.#byName.get(value)!, pinned: true, reason: 'pin' };
    }
    const key = this.#sticky === null ? null : userKey(req, this.#sticky);
    // A request without the sticky key is drawn by weight like any other: logged as such.
    if (key === null) return { group: pointToGroup(this.#ordered, this.#random()), pinned: false, reason: 'weighted' };
    return { group: pointToGroup(this.#ordered, hashUnit(key)), pinned: false, reason: 'sticky' };
  }

  /**
   * The group that takes a request its own group could not: a weighted choice among the other groups with
   * weight for which `eligible` holds (a backend there can take it), or undefined.
   */
  fallback(from: G, eligible: (g: G) => boolean): G | undefined {
    let total = 0;
    for (const g of this.#groups) if (g !== from && g.weight > 0 && eligible(g)) total += g.weight;
    if (total <= 0) return undefined;
    let r = this.#random() * total;
    let last: G | undefined;
    for (const g of this.#groups) {
      if (g === from || g.weight <= 0 || !eligible(g)) continue;
      last = g;
      r -= g.weight;
      if (r < 0) return g;
    }
    return last;
  }
}

/** The group whose range on [0, total weight) holds u * total. */
export function pointToGroup<G extends Group>(groups: readonly G[], u: number): G {
  let total = 0;
  for (const g of groups) total += g.weight;
  let point = u * total;
  let last: G = groups[0]!;
  for (const g of groups) {
    if (g.weight <= 0) continue;
    last = g;
    point -= g.weight;
    if (point < 0) return g;
  }
  return last;
}

function userKey(req: RequestKeys, s: StickyConfig): string | null {
  switch (s.kind) {
    case 'header': {
      const v = req.headers[s.name];
      return typeof v === 'string' && v.length > 0 ? v : null;
    }
    case 'cookie':
      return cookieValue(typeof req.headers.cookie === 'string' ? req.headers.cookie : undefined, s.name);
    case 'query':
      return queryValue(req.url ?? '', s.name);
    default: {
      const never: never = s.kind;
      throw new Error(`unknown sticky kind ${String(never)}`);
    }
  }
}

function cookieValue(header: string | undefined, name: string): string | null {
  if (header === undefined) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) {
      const v = part.slice(eq + 1).trim();
      return v.length > 0 ? v : null;
    }
  }
  return null;
}

function queryValue(url: string, name: string): string | null {
  const q = url.indexOf('?');
  if (q === -1) return null;
  const v = new URLSearchParams(url.slice(q + 1)).get(name);
  return v !== null && v.length > 0 ? v : null;
}

/** FNV-1a 32-bit of the key, mapped to [0, 1): stable across processes and restarts. */
export function hashUnit(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // A final avalanche so that similar keys (user-1, user-2) spread over the whole range.
  return avalanche(h) / 4294967296;
}
